"""The evidence behind content families, and the analysts' review list (to_review)."""

from __future__ import annotations

REFS = ("intermediate.int_items", "intermediate.int_content_families")


def frame(con, context):
    _, links = context.step("identity", "intermediate.int_content_links")(con, context)
    return links.astype({"confidence": "float64", "to_review": "bool"})

"""Each item's content family (transforms/identity.py, handed in by the pipeline as the
build's identity step): registry first, then links, then titles."""

from __future__ import annotations

REFS = ("intermediate.int_items",)


def frame(con, context):
    families, _ = context.step("identity", "intermediate.int_content_families")(con, context)
    return families.astype({"family_confidence": "float64"})

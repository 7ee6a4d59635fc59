"""Each item's content family (transforms/identity.py): registry first, then links, then titles."""

from __future__ import annotations

REFS = ("intermediate.int_items",)


def frame(con, context):
    from transforms.identity import warehouse_families

    families, _ = warehouse_families(con, context)
    return families.astype({"family_confidence": "float64"})

"""The model runner as the pipeline calls it: with the identity step handed in."""

from __future__ import annotations

from models.runner import BuildContext, BuildSummary
from models.runner import build as run_models
from transforms.identity import warehouse_families


def build(con, *args, context: BuildContext | None = None, **kwargs) -> BuildSummary:
    context = context or BuildContext()
    context.identity = context.identity or warehouse_families
    return run_models(con, *args, context=context, **kwargs)

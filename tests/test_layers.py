"""The layers import downward only (docs/design.md):

1. the kernel: every module of `contentpulse/` but the application's;
2. `connectors/`, `models/`, `reports/` (each over the kernel), and `transforms/` (over the
   kernel and the model runner);
3. the application: pipeline, extraction, cli, demo, alerts, pools;
4. `dags/`, over the application.

The development sandbox (`sandbox/`) imports nothing of the product, and the product imports
it only in the application (the demo and `contentpulse sandbox serve`).
Every import counts: at the top, inside a function, under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPLICATION = {"pipeline", "extraction", "cli", "demo", "alerts", "pools", "__main__"}
MAY_IMPORT = {
    "kernel": {"kernel"},
    "connectors": {"kernel", "connectors"},
    "models": {"kernel", "models"},
    "reports": {"kernel", "reports"},
    "transforms": {"kernel", "models", "transforms"},
    "application": {"kernel", "connectors", "models", "reports", "transforms", "application"},
    "dags": {"kernel", "application"},
    "sandbox": {"sandbox"},
}
PRODUCT = ("contentpulse", "connectors", "models", "reports", "transforms", "dags", "sandbox")


def layer(module: str) -> str | None:
    """The layer of a dotted module name of this repository (None: not ours)."""
    top, _, rest = module.partition(".")
    if top == "contentpulse":
        return "application" if rest.split(".")[0] in APPLICATION else "kernel"
    return top if top in PRODUCT else None


def imported(source: str) -> list[tuple[int, str]]:
    """Every absolute module a source imports (for `from a import b`, both a and a.b: b may
    be a module), with its line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def upward_imports(module: str, source: str) -> list[str]:
    own = layer(module)
    allowed = MAY_IMPORT[own] | (
        {"sandbox"} if module in ("contentpulse.demo", "contentpulse.cli") else set()
    )
    return [
        f"{module}:{line} imports {name} ({own} -> {layer(name)})"
        for line, name in imported(source)
        if layer(name) is not None and layer(name) not in allowed
    ]


def modules() -> list[tuple[str, Path]]:
    return [
        (".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"), p)
        for top in PRODUCT
        for p in sorted((ROOT / top).rglob("*.py"))
    ]


def test_no_module_imports_a_layer_above_its_own():
    found = [
        problem
        for module, path in modules()
        for problem in upward_imports(module, path.read_text(encoding="utf-8"))
    ]
    assert not found, "\n".join(found)


def test_every_package_of_the_product_is_walked():
    walked = {m.split(".")[0] for m, _ in modules()}
    assert walked == set(PRODUCT)
    assert len(modules()) > 60


@pytest.mark.parametrize(
    ("module", "source", "names"),
    [
        ("contentpulse.config", "from contentpulse import pipeline\n", "contentpulse.pipeline"),
        ("connectors.ga4.hooks", "def f():\n    import transforms.identity\n", "transforms"),
        ("models.runner", "from transforms.identity import canonical_url\n", "transforms"),
        ("reports.weekly", "from models.runner import build\n", "models.runner"),
        ("transforms.load", "from connectors import social\n", "connectors"),
        ("dags.nightly", "from transforms import load\n", "transforms"),
        ("connectors.youtube.hooks", "from sandbox import Sandbox\n", "sandbox"),
        ("sandbox.server", "from contentpulse.errors import ContentpulseError\n", "kernel"),
    ],
)
def test_an_upward_import_is_named_with_its_module_and_line(module, source, names):
    problems = upward_imports(module, source)
    assert problems and all(p.startswith(f"{module}:") for p in problems), problems
    assert any(names in p for p in problems), problems


def test_downward_and_sideways_imports_within_the_rules_pass():
    assert not upward_imports("contentpulse.pipeline", "from transforms import load\n")
    assert not upward_imports("transforms.checks", "from models.runner import discover\n")
    assert not upward_imports("dags.x", "from contentpulse.pipeline import run\n")
    assert not upward_imports("contentpulse.demo", "from sandbox import Sandbox\n")
    assert not upward_imports("connectors.graph", "import pandas\nfrom connectors import social\n")

"""The runner's generated union branches (`union_of`), on tiny model folders made here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contentpulse.errors import ContentpulseError
from contentpulse.warehouse import open_warehouse
from models.runner import MODELS_DIR, build, discover

SNAPSHOT_UNION = """union_of:
  snapshots:
    from: staging.stg_*__snapshots
    columns: [platform, item_id, views]
"""


def write_model(root: Path, table: str, sql: str, yml: str = "", columns: str = "") -> None:
    layer, name = table.split(".")
    (root / layer).mkdir(parents=True, exist_ok=True)
    (root / layer / f"{name}.sql").write_text(sql, encoding="utf-8")
    cols = "".join(f"  - {{name: {c}}}\n" for c in columns.split())
    (root / layer / f"{name}.yml").write_text(
        f"description: {name}.\nmaterialized: view\n{yml}grain: [platform]\ncolumns:\n{cols}",
        encoding="utf-8",
    )


def source(root: Path, platform: str, entity: str = "snapshots", extra: str = "") -> None:
    """A source's staging model: one row, its platform's name, 10 views."""
    write_model(
        root,
        f"staging.stg_{platform}__{entity}",
        f"select '{platform}' as platform, 'p1' as item_id, 10 as views{extra}\n",
        columns=f"platform item_id views{' watch_time_s' if extra else ''}",
    )


def consumer(root: Path, sql: str = "select platform, item_id, views from snapshots\n") -> None:
    write_model(
        root, "intermediate.int_intervals", sql, SNAPSHOT_UNION, columns="platform item_id views"
    )


def built(root: Path, tmp_path: Path, table: str) -> list[tuple]:
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        build(con, root)
        return con.execute(f"select * from {table} order by all").fetchall()


def test_union_of_reads_one_branch_per_source_the_pattern_matches(tmp_path):
    root = tmp_path / "models"
    source(root, "instagram")
    source(root, "tiktok", extra=", 5 as watch_time_s")  # a column more: not taken
    source(root, "youtube", entity="videos")  # another entity: not matched
    consumer(root)
    model = {m.table: m for m in discover(root)}["intermediate.int_intervals"]
    assert model.branches == {
        "snapshots": ("staging.stg_instagram__snapshots", "staging.stg_tiktok__snapshots")
    }
    assert model.refs == set(model.branches["snapshots"])  # the graph sees the branches
    assert built(root, tmp_path, "intermediate.int_intervals") == [
        ("instagram", "p1", 10),
        ("tiktok", "p1", 10),
    ]


def test_a_new_source_joins_the_union_with_no_edit_to_the_model(tmp_path):
    root = tmp_path / "models"
    source(root, "instagram")
    consumer(root)
    before = {m.table: m.sql for m in discover(root)}["intermediate.int_intervals"]
    source(root, "linkedin")
    after = [m.table for m in discover(root)]
    assert after.index("staging.stg_linkedin__snapshots") < after.index(
        "intermediate.int_intervals"
    )
    assert "linkedin" not in before
    assert [p for (p, *_) in built(root, tmp_path, "intermediate.int_intervals")] == [
        "instagram",
        "linkedin",
    ]


def test_the_union_comes_first_among_the_ctes_of_a_model_that_has_its_own(tmp_path):
    root = tmp_path / "models"
    source(root, "instagram")
    consumer(
        root,
        "-- a comment before the CTEs\n"
        "with doubled as (select platform, item_id, views * 2 as views from snapshots)\n"
        "select * from doubled\n",
    )
    assert built(root, tmp_path, "intermediate.int_intervals") == [("instagram", "p1", 20)]


def test_a_per_source_intermediate_model_takes_the_place_of_its_staging(tmp_path):
    root = tmp_path / "models"
    source(root, "instagram")
    # GA4-like: staging in another shape, reshaped by a small per-source intermediate model
    write_model(
        root,
        "staging.stg_ga4__snapshots",
        "select 'ga4' as platform, '/a' as page, 7 as page_views\n",
        columns="platform page page_views",
    )
    write_model(
        root,
        "intermediate.int_ga4__snapshots",
        "select platform, page as item_id, page_views as views from staging.stg_ga4__snapshots\n",
        columns="platform item_id views",
    )
    write_model(
        root,
        "intermediate.int_intervals",
        "select platform, item_id, views from snapshots\n",
        SNAPSHOT_UNION.replace(
            "from: staging.stg_*__snapshots",
            "from: [staging.stg_*__snapshots, intermediate.int_*__snapshots]",
        ),
        columns="platform item_id views",
    )
    model = {m.table: m for m in discover(root)}["intermediate.int_intervals"]
    assert model.branches["snapshots"] == (
        "intermediate.int_ga4__snapshots",
        "staging.stg_instagram__snapshots",
    )
    assert built(root, tmp_path, "intermediate.int_intervals") == [
        ("ga4", "/a", 7),
        ("instagram", "p1", 10),
    ]


def test_a_source_without_a_union_column_is_one_error_naming_the_model_and_the_source(tmp_path):
    root = tmp_path / "models"
    source(root, "instagram")
    write_model(
        root,
        "staging.stg_facebook__snapshots",
        "select 'facebook' as platform, 'p1' as item_id\n",
        columns="platform item_id",
    )
    consumer(root)
    with pytest.raises(ContentpulseError) as caught:
        discover(root)
    message = str(caught.value)
    assert message == (
        "model intermediate.int_intervals: union snapshots: staging.stg_facebook__snapshots "
        "(source facebook) has no column views in its YAML"
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("union_of", "error"),
    [
        (
            "union_of:\n  snapshots:\n    from: staging.stg_*__snapshot\n    columns: [platform]\n",
            "union snapshots: pattern staging.stg_*__snapshot matches no model",
        ),
        (
            "union_of:\n  snapshots:\n    from: [staging.stg_*__snapshots, staging.stg_*__posts]\n"
            "    columns: [platform]\n",
            "union snapshots: source instagram matches both staging.stg_instagram__snapshots "
            "and staging.stg_instagram__posts",
        ),
        (
            "union_of:\n  snapshots:\n    from: stg_*__snapshots\n    columns: [platform]\n",
            "union snapshots: pattern 'stg_*__snapshots' must be <layer>.<name>",
        ),
        (
            "union_of:\n  snapshots:\n    from: staging.stg_*__snapshots\n",
            "union snapshots: needs exactly `from` and `columns`",
        ),
        (
            "union_of:\n  snapshots:\n    from: staging.stg_*__snapshots\n"
            "    columns: [platform, Views]\n",
            "union snapshots: columns must be distinct lower-case identifiers",
        ),
    ],
)
def test_a_malformed_union_is_one_error_naming_the_model(tmp_path, union_of, error):
    root = tmp_path / "models"
    source(root, "instagram")
    source(root, "instagram", entity="posts")
    write_model(root, "intermediate.int_intervals", "select 1 as platform\n", union_of, "platform")
    with pytest.raises(ContentpulseError, match=re.escape(error)) as caught:
        discover(root)
    assert str(caught.value).startswith("model intermediate.int_intervals: ")
    assert "\n" not in str(caught.value)


def test_no_intermediate_or_mart_sql_reads_the_staging_of_two_sources():
    """Per-source branches are generated (union_of), so a new source edits none of these."""
    for path in [*MODELS_DIR.glob("intermediate/*.sql"), *MODELS_DIR.glob("marts/*.sql")]:
        sources = set(re.findall(r"\bstaging\.stg_([a-z0-9]+(?:_[a-z0-9]+)*?)__", path.read_text()))
        assert len(sources) <= 1, f"{path.name} reads the staging of {sorted(sources)}"

"""The metric dictionary: every unified metric, its native name per platform, its
denominator, and when a platform renamed, redefined or retired it (seeds/metric_dictionary.csv)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv

SEED = Path(__file__).resolve().parent.parent / "seeds" / "metric_dictionary.csv"


def frame(con, context):
    return pacsv.read_csv(
        SEED,
        convert_options=pacsv.ConvertOptions(
            column_types={"valid_from": "date32", "retired_on": "date32"},
            strings_can_be_null=True,
        ),
    )

"""`contentpulse status`: each account's state from what its extractions landed, against the
sandbox: the newest complete day is the newest day the sandbox serves, the last run's calls
are the calls the sandbox answered, a failed account shows its one-line cause, and the next
night's window (with a gap that only a backfill fills) is named."""

from __future__ import annotations

import json
from datetime import timedelta

import yaml

from contentpulse import pipeline
from contentpulse.cli import main
from contentpulse.config import load_config
from tests.conftest import CLOCK, END


def test_status_shows_each_accounts_newest_day_last_runs_failure_and_next_reads(
    cfg, sandbox, capsys
):
    def api_calls() -> int:
        return sum(n for path, n in sandbox.calls.items() if path != "/token")

    night = pipeline.night_window(cfg, "youtube", END)
    raw = yaml.safe_load(cfg.source_file.read_text(encoding="utf-8"))
    accounts = raw["sources"]["youtube"]["accounts"]
    accounts.append({**accounts[0], "id": "UCnoSuchChannel000000000", "name": "Gone"})
    cfg.source_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with_gone = load_config(cfg.source_file)
    earlier = pipeline.night_window(cfg, "youtube", END - timedelta(days=10))
    failed = pipeline.extract(with_gone, {"youtube": earlier}, "manual__earlier")
    assert failed.exit_code == 1 and len(failed.errors) == 1
    before = api_calls()
    pipeline.extract(cfg, {"youtube": night}, "manual__night")  # the channels that exist
    night_calls = api_calls() - before
    cfg = with_gone

    rows = {r.account_id: r for r in pipeline.status(cfg, today=CLOCK + timedelta(days=5))}
    good = [rows[a["id"]] for a in accounts[:-1]]
    gone = rows["UCnoSuchChannel000000000"]
    # the sandbox serves analytics through END: that is every channel's newest complete day
    assert {r.newest_complete_day for r in good} == {END}
    assert all(r.last_success_run == "manual__night" and r.last_failure is None for r in good)
    assert sum(r.last_run_calls for r in good) == night_calls
    assert all(r.last_run_quota > 0 for r in good)  # Data API units, as the sandbox charged
    assert gone.newest_complete_day is None and gone.last_success_at is None
    assert gone.last_failure.startswith("youtube UCnoSuchChannel000000000: channel not found")
    # five days on, the next night re-reads its lookback and leaves a gap for a backfill
    assert good[0].next_reads == (
        f"{END + timedelta(days=4)}..{END + timedelta(days=6)}; "
        f"{END + timedelta(days=1)} onwards is a gap (contentpulse backfill)"
    )

    assert main(["--config", str(cfg.source_file), "status", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["account_id"] for r in listed] == [a["id"] for a in accounts]
    assert listed[0]["newest_complete_day"] == END.isoformat()
    assert main(["--config", str(cfg.source_file), "status"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["account", "newest", "day"]
    assert len([line for line in table if line.startswith("youtube ")]) == len(accounts)
    assert "last failure of youtube UCnoSuchChannel000000000: " in "\n".join(table)

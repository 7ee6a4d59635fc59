"""The fault matrix's source x fault table, printed at the end of a run.

A matrix cell records `("fault_matrix", (source, fault))` and then its outcome as
`("fault_matrix_outcome", text)` with `record_property`; xdist ships the properties of
each report from the workers to the controller, so the table is whole under `-n`. The hook
is registered by tests/conftest.py: under xdist the controller collects nothing, so it loads
only the top conftest, and a hook in tests/reliability/conftest.py would never run there.
"""

from __future__ import annotations


def _cells(terminalreporter) -> dict[tuple[str, str], str]:
    cells: dict[tuple[str, str], str] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            props = dict(getattr(report, "user_properties", None) or [])
            if "fault_matrix" not in props or getattr(report, "when", "call") != "call":
                continue
            source, fault = props["fault_matrix"]
            outcome = props.get("fault_matrix_outcome", "")
            if report.failed:
                outcome = f"FAILED ({outcome})" if outcome else "FAILED"
            elif report.skipped:
                outcome = "skipped"
            cells[(source, fault)] = outcome
    return cells


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    cells = _cells(terminalreporter)
    if not cells:
        return
    sources = list(dict.fromkeys(s for s, _ in cells))
    faults = list(dict.fromkeys(f for _, f in cells))
    width = max(len(f) for f in faults)
    columns = {s: max(len(s), *(len(cells.get((s, f), "")) for f in faults)) for s in sources}
    write = terminalreporter.write_line
    terminalreporter.section(f"fault matrix: {len(cells)} cells")
    write(" | ".join([" " * width, *(s.ljust(columns[s]) for s in sources)]))
    write("-+-".join(["-" * width, *("-" * columns[s] for s in sources)]))
    for fault in faults:
        row = [cells.get((s, fault), "-").ljust(columns[s]) for s in sources]
        write(" | ".join([fault.ljust(width), *row]))

"""Run the fault-injection suite (tests/test_faults_*.py) and print its table, by category:
cases, how many behave as specified, how many of those are refusals, and what still fails.

    python scripts/fault_table.py            # fast tier
    python scripts/fault_table.py --model    # with the model-tier cases (SIGINT in model mode)

Every case carries @pytest.mark.fault(category, expected), expected 'pass' (the edit is made
correctly) or 'refused' (a clear refusal with nothing touched); the counts come from this run.
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class Collect:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.failures: list[str] = []

    def pytest_runtest_logreport(self, report) -> None:
        marker = next((m for m in getattr(report, "fault_marks", [])), None)
        if marker is None:
            return
        category, expected = marker
        row = self.rows[category]
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            if hasattr(report, "wasxfail"):  # a known failure, its reason in the xfail mark
                row["failing"] += 1
                self.failures.append(f"{report.nodeid}: {report.wasxfail}")
            elif report.skipped:
                row["skipped"] += 1
            elif report.passed:
                row["ok"] += 1
                row[f"ok-{expected}"] += 1
            else:
                row["failing"] += 1
                self.failures.append(report.nodeid)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        mark = item.get_closest_marker("fault")
        report.fault_marks = [tuple(mark.args)] if mark else []


def main() -> int:
    collect = Collect()
    marks = "not network" if "--model" in sys.argv else "not model and not network"
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-m", marks, *sorted(map(str, (ROOT / "tests").glob("test_faults_*.py")))],
                       plugins=[collect])
    print("\n| category | cases | behave as specified | of which refusals | still failing | skipped |")
    print("|---|---|---|---|---|---|")
    total = defaultdict(int)
    for category in sorted(collect.rows):
        row = collect.rows[category]
        cases = row["ok"] + row["failing"] + row["skipped"]
        print(f"| {category} | {cases} | {row['ok']} | {row['ok-refused']} | {row['failing']} | {row['skipped']} |")
        for key in ("ok", "ok-refused", "failing", "skipped"):
            total[key] += row[key]
    cases = total["ok"] + total["failing"] + total["skipped"]
    print(f"| **all** | **{cases}** | **{total['ok']}** | {total['ok-refused']} | {total['failing']} | {total['skipped']} |")
    for nodeid in collect.failures:
        print(f"failing: {nodeid}")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())

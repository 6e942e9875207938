"""How the merge's time grows with the file: the same one-line edit in files of 1,000 to
20,000 lines, the snippet showing the whole file (the worst case: every line a candidate
anchor), side by side in one run. Prints seconds and the time per line relative to the
largest (flat = linear). Files up to 500 lines take the quadratic
alignment (what the benchmark's files all take); longer ones the unique-line chain.

    python benchmarks/merge_scale.py
"""
from __future__ import annotations

import time

from fastapply.merge import merge


def case(n_lines: int) -> tuple[str, str, str]:
    original = "".join(f"def f{i}():\n    return {i}\n" for i in range(n_lines // 2))
    at = n_lines // 4
    expected = original.replace(f"return {at}\n", f"return -{at}\n")
    return original, expected + "# ... existing code ...\n", expected


def main() -> None:
    rows = []
    for n in (400, 1000, 2000, 5000, 10000, 20000):
        original, snippet, expected = case(n)
        start = time.perf_counter()
        result = merge(original, snippet, path="m.py")
        seconds = time.perf_counter() - start
        rows.append((n, len(snippet), seconds, result.text == expected))
    base = rows[-1][2] / rows[-1][0]
    print("| lines | snippet bytes | seconds | time per line vs the largest file | exact |")
    print("|---|---|---|---|---|")
    for n, size, seconds, exact in rows:
        print(f"| {n:,} | {size:,} | {seconds:.2f} | {seconds / n / base:.2f}x | {exact} |")


if __name__ == "__main__":
    main()

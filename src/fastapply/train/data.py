"""Build the fine-tuning set: real edits from release pairs plus synthetic edits of real files.

    from fastapply.train.data import BuildConfig, build
    report = build(BuildConfig(out=Path("data.jsonl"), seed="default"))

Sources come from a manifest (`train/manifest.json`, same shape as the benchmark's) whose
projects never overlap the benchmark's. Per source package, in a fixed order: the releases are
fetched (cached), consecutive pairs give real examples, the last release's files give synthetic
ones; long files become windows around each change; then the small-file down-sampling, the
per-path cap, deduplication and the real:synthetic mix. Same config, same bytes.
"""
from __future__ import annotations

import json
from collections import Counter
from itertools import zip_longest
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from fastapply.corpus import mining, snippets, stdlib
from fastapply.corpus.filters import Filters, refine_language, reject_reason
from fastapply.corpus.filters import read_manifest as read_set_manifest
from fastapply.evals import dataset
from fastapply.languages import detect
from fastapply.settings import Settings
from fastapply.train import synth
from fastapply.train.example import Example, SourceFile, write_jsonl

MANIFEST = Path(__file__).with_name("manifest.json")
EVAL_MANIFEST = Path(dataset.__file__).with_name("manifest.json")
LENGTH_BUCKETS = (20, 60, 120, 200, 400, 1000)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildConfig:
    """Every knob of a build; the CLI maps its flags onto these fields one to one."""

    out: Path
    seed: str = "default"
    limit: int | None = None
    ratio: tuple[int, int] = (1, 4)  # real : synthetic (teacher examples count as synthetic)
    window_lines: int = 60  # files longer than this become windows around each change
    radius: tuple[int, int] = (4, 16)  # lines of context on each side of a window, drawn per window
    max_window: int = 120  # a window (original or target) longer than this is dropped
    small_lines: int = 100  # files shorter than this are kept with probability small_keep
    small_keep: float = 0.35
    per_path: int = 3  # examples per (source project, path)
    per_file: int = 4  # synthetic mutations drawn per file (before the per-path cap)
    manifest: Path = MANIFEST
    cache_dir: Path | None = None  # default: Settings().cache_dir / "train"
    sources: tuple[str, ...] = ()  # only these source names (tests, quick slices); empty = all
    teacher: Callable[[Iterable[SourceFile]], Iterable[Example]] | None = None
    teacher_limit: int = 100  # spreads the teacher's files over the sources (3x this many offered)


@dataclass
class Report:
    """What a build produced: counts by kind, language, unit, mutation, length; rejections."""

    out: str = ""
    total: int = 0
    kind: Counter = field(default_factory=Counter)
    language: Counter = field(default_factory=Counter)
    unit: Counter = field(default_factory=Counter)
    mutation: Counter = field(default_factory=Counter)
    length: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)

    def add(self, example: Example) -> None:
        self.total += 1
        self.kind[example.kind] += 1
        self.language[example.language] += 1
        self.unit[example.unit] += 1
        self.mutation[example.mutation or example.kind] += 1
        self.length[length_bucket(example.n_lines)] += 1

    def as_dict(self) -> dict:
        def ordered(counter):
            return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))

        return {"out": self.out, "total": self.total, "kind": ordered(self.kind), "language": ordered(self.language),
                "unit": ordered(self.unit), "mutation": ordered(self.mutation),
                "length": {k: self.length[k] for k in sorted(self.length, key=_bucket_low)},
                "rejected": ordered(self.rejected)}

    def lines(self) -> list[str]:
        data = self.as_dict()
        out = [f"{data['total']} examples -> {data['out']}"]
        for key in ("kind", "language", "unit", "mutation", "length", "rejected"):
            out.append(f"  {key:9} " + ", ".join(f"{k} {v}" for k, v in data[key].items()))
        return out


def length_bucket(n_lines: int) -> str:
    low = 0
    for high in LENGTH_BUCKETS:
        if n_lines < high:
            return f"{low}-{high}"
        low = high
    return f"{low}+"


def _bucket_low(bucket: str) -> int:
    return int(bucket.split("-")[0].rstrip("+"))


def chance(seed: str, key: str) -> float:
    """A uniform number in [0, 1) that depends only on (seed, key): order-independent sampling."""
    return synth.rng_for(seed, key).random()


# --- manifest --------------------------------------------------------------------------------------
def read_manifest(path: Path = MANIFEST, eval_manifest: Path = EVAL_MANIFEST) -> tuple[dict, list[mining.Source]]:
    """The training manifest, checked: no stdlib backport, two versions or more, and no project that
    the evaluation manifest also uses (a model must never train on what it is measured on)."""
    data, sources = read_set_manifest(path)
    _, held_out = read_set_manifest(eval_manifest)
    reserved = {mining.normalize_name(s.name) for s in held_out}
    clash = sorted(s.name for s in sources if mining.normalize_name(s.name) in reserved)
    if clash:
        raise ValueError(f"training sources also in the evaluation manifest: {', '.join(clash)}")
    return data, sources


# --- windows ---------------------------------------------------------------------------------------
def windows(original: str, target: str, rng_seed: str, radius: tuple[int, int] = (4, 16),
            max_window: int = 120) -> list[tuple[str, str]] | None:
    """(original window, target window) around each changed region; windows that overlap or touch
    merge. The context on each side is drawn from `radius`, and is not widened to any syntactic
    boundary (a window is what a caller cuts out of a file). None when a window exceeds
    `max_window` lines on either side; [] when there is no change."""
    before = original.splitlines(keepends=True)
    after = target.splitlines(keepends=True)
    regions = snippets.changed_regions([line.rstrip("\r\n") for line in before],
                                       [line.rstrip("\r\n") for line in after])
    rng = synth.rng_for(rng_seed, "windows")
    groups: list[tuple[int, int, list]] = []  # original span [a, b) and the regions inside it
    for region in regions:
        i1, i2 = region[0], region[1]
        a, b = max(0, i1 - rng.randint(*radius)), min(len(before), i2 + rng.randint(*radius))
        if groups and a <= groups[-1][1]:
            groups[-1] = (groups[-1][0], max(groups[-1][1], b), groups[-1][2] + [region])
        else:
            groups.append((a, b, [region]))
    out = []
    for a, b, inside in groups:
        # Outside the changes, lines map one to one with the offset of the nearest region.
        first, last = inside[0], inside[-1]
        ja, jb = a + (first[2] - first[0]), b + (last[3] - last[1])
        if max(b - a, jb - ja) > max_window:
            return None
        out.append(("".join(before[a:b]), "".join(after[ja:jb])))
    return out


def to_units(example: Example, config: BuildConfig, file_lines: int) -> tuple[list[Example], str | None]:
    """The example itself when its file is short, else one window example per change group; the
    reason when nothing is left."""
    if file_lines <= config.window_lines:
        return [example], None
    pairs = windows(example.original, example.target, f"{config.seed}:{example.id}", config.radius, config.max_window)
    if pairs is None:
        return [], "window-too-long"
    units = []
    for k, (original, target) in enumerate(pairs):
        if original == target:
            continue
        unit_id = f"{example.id}@w{k}"
        style = snippets.style_for(f"{config.seed}:{unit_id}")
        units.append(replace(
            example, id=unit_id, original=original, target=target, unit="window",
            snippet=snippets.render_snippet(original, target, detect(example.path), style),
            instruction=snippets.describe_edit(original, target, example.path),
        ))
    return units, None if units else "no-change"


# --- per-source generation ----------------------------------------------------------------------------
def source_label(source: mining.Source, version: str) -> str:
    return f"{source.registry}:{source.name}@{version}"


def real_examples(source: mining.Source, old: str, new: str, old_files: dict[str, bytes], new_files: dict[str, bytes],
                  filters: Filters, keys: frozenset[str], rejected: Counter) -> Iterator[Example]:
    """Whole-file real examples from one release pair, filtered like the benchmark."""
    for pair in mining.pair_files(old_files, new_files):
        if not mining.in_scope(pair.path, source):
            continue
        reason = reject_reason(pair, filters, keys, (old, new))
        if reason:
            rejected[f"real:{reason}"] += 1
            continue
        yield Example(
            id=f"real/{source.registry}:{source.name}/{old}..{new}/{pair.path}",
            kind="real",
            language=refine_language(pair.path, pair.after),
            source=source_label(source, new),
            path=pair.path,
            instruction=snippets.describe_edit(pair.before, pair.after, pair.path),
            original=pair.before,
            snippet="",  # rendered per unit (whole file or window)
            target=pair.after,
        )


def source_files(source: mining.Source, version: str, files: dict[str, bytes], filters: Filters,
                 keys: frozenset[str], rejected: Counter) -> Iterator[SourceFile]:
    """The release's files that may seed synthetic edits: same guards as the real pairs."""
    for path in sorted(files):
        if not mining.in_scope(path, source):
            continue
        text = mining.decode(files[path])
        n = len(text.splitlines()) if text else 0
        reason = (
            "vendored" if mining.is_vendored(path)
            else "binary" if text is None
            else "length" if not filters.min_lines <= n < filters.max_lines
            else "generated" if mining.is_generated(text)
            else "stdlib" if stdlib.is_stdlib(text, keys)
            else None
        )
        if reason:
            rejected[f"file:{reason}"] += 1
            continue
        yield SourceFile(source_label(source, version), path, refine_language(path, text), text)


def _with_snippet(example: Example, seed: str) -> Example:
    if example.snippet:
        return example
    style = snippets.style_for(f"{seed}:{example.id}")
    return replace(example, snippet=snippets.render_snippet(example.original, example.target, detect(example.path), style))


def package_examples(source: mining.Source, downloads: Path, config: BuildConfig, filters: Filters,
                     keys: frozenset[str], rejected: Counter) -> tuple[list[Example], list[Example]]:
    """(real, synthetic) unit examples of one source package, before the global mix. Only two
    releases are held in memory at a time."""
    real: list[tuple[Example, int]] = []
    files: dict[str, bytes] = {}
    for old, new in zip(source.versions, source.versions[1:]):
        old_files = files or mining.read_archive(mining.fetch(downloads, source, old))
        files = mining.read_archive(mining.fetch(downloads, source, new))
        real += [(ex, ex.n_lines) for ex in real_examples(source, old, new, old_files, files, filters, keys, rejected)]
    synthetic = []
    for file in source_files(source, source.versions[-1], files, filters, keys, rejected):
        synthetic += [(ex, len(file.text.splitlines())) for ex in synth.synthetic_examples(file, config.seed, config.per_file)]
    return _units(real, config, rejected), _units(synthetic, config, rejected)


def _units(examples: list[tuple[Example, int]], config: BuildConfig, rejected: Counter) -> list[Example]:
    """Small-file down-sampling, then windows (file line count decides both)."""
    out = []
    for example, file_lines in examples:
        if file_lines < config.small_lines and chance(config.seed, "small:" + example.id) >= config.small_keep:
            rejected[f"{example.kind}:small-file-sampled-out"] += 1
            continue
        units, reason = to_units(example, config, file_lines)
        if reason:
            rejected[f"{example.kind}:{reason}"] += 1
        out += [_with_snippet(u, config.seed) for u in units]
    return out


# --- mixing ----------------------------------------------------------------------------------------
def project_of(example: Example) -> str:
    """`pypi:attrs@23.1.0` -> `pypi:attrs`: the per-path cap counts across releases."""
    return example.source.rsplit("@", 1)[0]


def select(examples: list[Example], config: BuildConfig, seen: set[str], per_path: Counter,
           rejected: Counter) -> list[Example]:
    """Seeded order, then drop no-change and duplicate examples and cap per (project, path)."""
    kept = []
    for example in sorted(examples, key=lambda e: synth.rng_for(config.seed, "order", e.id).random()):
        key = example.content_key()
        path_key = (project_of(example), example.path)
        reason = (
            "no-change" if example.original == example.target
            else "duplicate" if key in seen
            else "per-path-cap" if per_path[path_key] >= config.per_path
            else None
        )
        if reason:
            rejected[f"{example.kind}:{reason}"] += 1
            continue
        seen.add(key)
        per_path[path_key] += 1
        kept.append(example)
    return kept


def mix(real: list[Example], other: list[Example], ratio: tuple[int, int], limit: int | None,
        seed: str) -> list[Example]:
    """Interleave real and synthetic at `ratio` (real:synthetic), each pool in a seeded order; the
    larger pool is cut so the ratio holds, then `limit` cuts both in proportion; the result is
    shuffled by seed (the trainer orders it anyway)."""
    r, s = ratio
    order = lambda pool, tag: sorted(pool, key=lambda e: synth.rng_for(seed, tag, e.id).random())  # noqa: E731
    real, other = order(real, "real"), order(other, "synthetic")
    if r == 0:
        n_real, n_other = 0, len(other)
    elif s == 0:
        n_real, n_other = len(real), 0
    else:
        n_real = min(len(real), -(-len(other) * r // s))  # ceil: a short synthetic pool still gets company
        n_other = min(len(other), n_real * s // r)
    if limit is not None and n_real + n_other > limit:
        n_real = limit * r // (r + s)
        n_other = limit - n_real
    picked = real[:n_real] + other[:n_other]
    return sorted(picked, key=lambda e: synth.rng_for(seed, "shuffle", e.id).random())


# --- the build ---------------------------------------------------------------------------------------
def cache_root(config: BuildConfig) -> Path:
    return Path(config.cache_dir) if config.cache_dir else Path(Settings().cache_dir) / "train"


def build(config: BuildConfig, progress: Progress | None = None, stdlib_keys: frozenset[str] | None = None) -> Report:
    """Build the JSONL at `config.out` (atomically) and its composition JSON next to it.
    `stdlib_keys` defaults to the content keys of every installed Python's standard library."""
    say = progress or (lambda _msg: None)
    data, sources = read_manifest(config.manifest)
    if config.sources:
        sources = [s for s in sources if s.name in config.sources]
    filters = Filters(**data.get("filters", {}))
    downloads = cache_root(config) / "downloads"
    dataset.prefetch(sources, downloads, say)
    if stdlib_keys is None:
        say("hashing the installed Pythons' standard libraries (kept out of the set)")
        stdlib_keys = stdlib.stdlib_keys(stdlib.stdlib_dirs())
    keys = stdlib_keys
    rejected: Counter = Counter()
    seen: set[str] = set()
    per_path: Counter = Counter()
    real: list[Example] = []
    other: list[Example] = []
    ordered = sorted(sources, key=lambda s: (s.registry, s.name))
    for index, source in enumerate(ordered, 1):
        package_real, package_synth = package_examples(source, downloads, config, filters, keys, rejected)
        # Real edits claim their paths first: they are the scarcer kind.
        real += select(package_real, config, seen, per_path, rejected)
        other += select(package_synth, config, seen, per_path, rejected)
        say(f"[{index}/{len(ordered)}] {source.registry}:{source.name}: {len(real)} real, {len(other)} synthetic so far")
    if config.teacher is not None:
        say("asking the teacher model")
        per_source = max(2, -(-3 * config.teacher_limit // max(len(ordered), 1)))
        samples = [list(_teacher_files(s, downloads, filters, keys, config.seed, per_source)) for s in ordered]
        files = [f for row in zip_longest(*samples) for f in row if f is not None]  # round-robin over sources
        other += select(list(config.teacher(files)), config, seen, per_path, rejected)
    picked = mix(real, other, config.ratio, config.limit, config.seed)
    report = Report(out=str(config.out))
    for example in picked:
        report.add(example)
    report.rejected = rejected
    write_jsonl(picked, config.out)
    composition_path(config.out).write_text(json.dumps(report.as_dict(), indent=1) + "\n", encoding="utf-8")
    return report


def _teacher_files(source: mining.Source, downloads: Path, filters: Filters, keys: frozenset[str],
                   seed: str, count: int) -> Iterator[SourceFile]:
    """A seeded sample of `count` files of the source's last release: every source gets its share
    of the teacher's limit instead of the first sources taking it all."""
    files = mining.read_archive(mining.fetch(downloads, source, source.versions[-1]))
    candidates = list(source_files(source, source.versions[-1], files, filters, keys, Counter()))
    yield from sorted(candidates, key=lambda f: synth.rng_for(seed, "teacher", f.source, f.path).random())[:count]


def composition_path(out: Path) -> Path:
    return out.with_name(out.name + ".composition.json")


def replace_out(config: BuildConfig, out: Path) -> BuildConfig:
    return replace(config, out=Path(out))

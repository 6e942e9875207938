"""Mine real edits from consecutive releases of PyPI and npm packages.

Fetching goes through the registries' own clients (`pip download`, `npm pack`) into a download
cache, one folder per package version, so a rebuild never touches the network. Reading an archive
and pairing its files are pure functions of the archive bytes.
"""
from __future__ import annotations

import difflib
import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fastapply.languages import detect

# The languages the benchmark mines; everything else in an archive is ignored.
SOURCE_LANGUAGES = frozenset({"python", "javascript", "typescript", "c", "cpp", "java", "go", "rust"})
MAX_FILE_BYTES = 200_000

# Packages that are (or backport) CPython standard-library modules: the stdlib is reserved for
# independent evaluation, so these may never be sources, whatever their licence.
STDLIB_BACKPORTS = frozenset({
    "typing-extensions", "typing", "importlib-metadata", "importlib-resources", "tomli", "dataclasses",
    "enum34", "futures", "contextlib2", "mock", "pathlib2", "configparser", "exceptiongroup", "zipp",
    "singledispatch", "funcsigs", "statistics", "asyncio", "trollius", "taskgroup", "async-timeout",
    "backports-zoneinfo", "backports-tarfile", "backports-functools-lru-cache", "subprocess32",
    "ipaddress", "argparse", "unittest2", "cached-property", "graphlib-backport", "tomllib", "pickle5",
    "typing-inspection", "zoneinfo", "selectors2", "faulthandler", "ordereddict", "simplejson-stdlib",
})


class FetchError(RuntimeError):
    """A package version could not be fetched (offline with an empty cache, or no such release)."""


@dataclass(frozen=True)
class Source:
    """One manifest entry: a package, the releases to pair (in order) and where to look."""

    registry: str  # "pypi" | "npm"
    name: str
    versions: tuple[str, ...]
    license: str
    dist: str = "sdist"  # pypi only: "sdist" or "wheel" (pure-Python wheels carry the exact sources)
    include: tuple[str, ...] = ()  # path prefixes to keep; empty keeps all
    exclude: tuple[str, ...] = ()  # path prefixes to drop, on top of the generic filters


def normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def is_backport(name: str) -> bool:
    norm = normalize_name(name)
    return norm in STDLIB_BACKPORTS or norm.startswith("backports-")


def source_from_json(entry: dict) -> Source:
    return Source(
        registry=entry["registry"],
        name=entry["name"],
        versions=tuple(entry["versions"]),
        license=entry["license"],
        dist=entry.get("dist", "sdist"),
        include=tuple(entry.get("include", ())),
        exclude=tuple(entry.get("exclude", ())),
    )


# --- fetching (the only impure part) --------------------------------------------------------------
def download_dir(downloads: Path, source: Source, version: str) -> Path:
    return downloads / source.registry / normalize_name(source.name).replace("/", "__") / version


def cached_archive(downloads: Path, source: Source, version: str) -> Path | None:
    folder = download_dir(downloads, source, version)
    files = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
    return files[0] if files else None


def _pip_download(source: Source, version: str, dest: Path) -> None:
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
            "--quiet", "-d", str(dest), f"{source.name}=={version}"]
    if source.dist == "wheel":
        commands = [base + ["--only-binary", ":all:"]]
    else:
        # pip prepares metadata even for a download; doing that with this environment's setuptools
        # takes ~2 s instead of ~10 s for an isolated build env; packages with other build
        # backends fall back to the isolated path.
        commands = [base + ["--no-binary", ":all:", "--no-build-isolation"], base + ["--no-binary", ":all:"]]
    errors = []
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode == 0:
            return
        errors.append(result.stderr.strip().splitlines()[-1:] or ["(no output)"])
        for leftover in dest.glob("*"):
            leftover.unlink()
    raise FetchError(f"pip download {source.name}=={version} failed: {errors[-1][0]}")


def _npm_pack(source: Source, version: str, dest: Path) -> None:
    command = ["npm", "pack", "--silent", "--pack-destination", str(dest), f"{source.name}@{version}"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, cwd=dest)
    except FileNotFoundError as exc:
        raise FetchError("npm is not installed; it is needed to fetch npm sources") from exc
    if result.returncode != 0:
        raise FetchError(f"npm pack {source.name}@{version} failed: {result.stderr.strip()[-300:]}")


def fetch(downloads: Path, source: Source, version: str) -> Path:
    """The archive of one release, from the cache or fetched into it (atomically: a half-finished
    download never looks cached)."""
    hit = cached_archive(downloads, source, version)
    if hit:
        return hit
    folder = download_dir(downloads, source, version)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{version}-") as tmp:
        fetcher = _pip_download if source.registry == "pypi" else _npm_pack
        fetcher(source, version, Path(tmp))
        archives = sorted(Path(tmp).glob("*"))
        if len(archives) != 1:
            raise FetchError(f"{source.name}@{version}: expected one archive, got {[a.name for a in archives]}")
        staged = folder.with_name(folder.name + ".part")
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir()
        archives[0].rename(staged / archives[0].name)
        shutil.rmtree(folder, ignore_errors=True)
        staged.rename(folder)
    hit = cached_archive(downloads, source, version)
    assert hit is not None
    return hit


# --- reading archives (pure) ----------------------------------------------------------------------
def _strip_root(name: str, archive: Path) -> str | None:
    """Path inside the package: drop the sdist's `name-version/` or npm's `package/` folder."""
    parts = PurePosixPath(name).parts
    if archive.suffix == ".whl":
        return "/".join(parts) if parts else None
    return "/".join(parts[1:]) if len(parts) > 1 else None


def wanted(path: str) -> bool:
    """A source file in a language we mine (by extension; `.d.ts` declarations are not source)."""
    return detect(path).name in SOURCE_LANGUAGES and not path.endswith(".d.ts")


def read_archive(archive: Path) -> dict[str, bytes]:
    """Source files of a release keyed by their path inside the package."""
    files: dict[str, bytes] = {}
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                path = _strip_root(info.filename, archive)
                if path and not info.is_dir() and info.file_size <= MAX_FILE_BYTES and wanted(path):
                    files[path] = zf.read(info)
        return files
    with tarfile.open(archive) as tf:
        for member in tf.getmembers():
            path = _strip_root(member.name, archive)
            if path and member.isfile() and member.size <= MAX_FILE_BYTES and wanted(path):
                handle = tf.extractfile(member)
                if handle is not None:
                    files[path] = handle.read()
    return files


# --- filters (pure) -------------------------------------------------------------------------------
VENDORED_PARTS = frozenset({
    "vendor", "vendored", "_vendor", "third_party", "thirdparty", "third-party", "external", "extern",
    "deps", "node_modules", "dist", "build", "bundle", "bundles", "fixtures", "__fixtures__",
    "site-packages", "min", "umd", "cjs", "esm", "es", "generated", "_generated",
})
GENERATED_MARKERS = (
    "generated by", "autogenerated", "auto-generated", "do not edit", "automatically generated",
    "@generated", "this file was generated", "code generated",
)


def is_vendored(path: str) -> bool:
    parts = [p.lower() for p in PurePosixPath(path).parts[:-1]]
    name = PurePosixPath(path).name.lower()
    return any(p in VENDORED_PARTS for p in parts) or ".min." in name or name.endswith(("-min.js", ".bundle.js"))


def is_generated(text: str) -> bool:
    """Minified or machine-written: such files are not what anyone edits by hand."""
    lines = text.splitlines()
    if not lines:
        return True
    if max(len(line) for line in lines) > 400 or len(text) / len(lines) > 120:
        return True
    head = "\n".join(lines[:15]).lower()
    return any(marker in head for marker in GENERATED_MARKERS)


def decode(data: bytes) -> str | None:
    """UTF-8 text with LF line ends, or None for binary/other encodings (kept out of the set)."""
    if b"\0" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text:
        return None  # CRLF files would make "exact" ambiguous for line-based tools; skip them
    return text


def whitespace_only(before: str, after: str) -> bool:
    return [line.split() for line in before.splitlines() if line.strip()] == [
        line.split() for line in after.splitlines() if line.strip()
    ]


def trivial_change(before: str, after: str, versions: tuple[str, ...] = ()) -> bool:
    """A release chore rather than an edit: every changed line only bumps a copyright year or the
    package's version string. Real, but nothing an apply model needs to be measured on."""
    old, new = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    changed = [
        line for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
        for line in old[i1:i2] + new[j1:j2] if line.strip()
    ]
    return all("copyright" in line.lower() or any(v in line for v in versions if v) for line in changed)


def content_key(text: str) -> str:
    """Hash that ignores indentation, trailing spaces and blank lines: near-identical copies (a
    re-indented or re-wrapped-by-blank-lines stdlib module) hash the same."""
    lines = (line.strip() for line in text.splitlines())
    return hashlib.sha256("\n".join(line for line in lines if line).encode()).hexdigest()


@dataclass(frozen=True)
class FilePair:
    path: str
    before: str
    after: str


def pair_files(old: dict[str, bytes], new: dict[str, bytes]) -> list[FilePair]:
    """Files present in both releases whose text changed, in path order."""
    pairs = []
    for path in sorted(old.keys() & new.keys()):
        if old[path] == new[path]:
            continue
        before, after = decode(old[path]), decode(new[path])
        if before is not None and after is not None and before != after:
            pairs.append(FilePair(path, before, after))
    return pairs


def in_scope(path: str, source: Source) -> bool:
    if source.include and not any(path.startswith(prefix) for prefix in source.include):
        return False
    return not any(path.startswith(prefix) for prefix in source.exclude)

"""One training example, as every stage of the pipeline reads and writes it (JSONL, a line each).

An example is exactly what the engine sees at apply time: an optional instruction, the
original text (a whole file or a window of one), the lazy snippet, and the target text
the model must write between the answer tags (``prompt.expected_answer(target)``).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

KINDS = ("real", "synthetic", "teacher")


@dataclass(frozen=True)
class Example:
    id: str  # unique and stable, e.g. "synthetic/<source>/<path>#delete-function:3"
    kind: str  # one of KINDS
    language: str  # languages.detect(path).name
    source: str  # where the file came from, e.g. "pypi:attrs@23.1.0"
    path: str  # the file's path inside its source (cap per path keys on source + path)
    instruction: str
    original: str
    snippet: str
    target: str
    unit: str = "file"  # "file", or "window" when original/target are a window of a file
    mutation: str = ""  # synthetic: which mutation made it; real/teacher: ""

    @property
    def n_lines(self) -> int:
        return len(self.original.splitlines())

    def content_key(self) -> str:
        """Duplicate detection: same original, snippet and target = same sample."""
        h = hashlib.sha256()
        for part in (self.original, self.snippet, self.target):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()


@dataclass(frozen=True)
class SourceFile:
    """A file of a training source, as the synthetic and teacher generators take it."""

    source: str  # e.g. "pypi:attrs@23.1.0"
    path: str
    language: str
    text: str


def write_jsonl(examples: Iterable[Example], out: Path) -> int:
    """Stream examples to ``out`` atomically; returns how many were written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        for ex in examples:
            handle.write(json.dumps(asdict(ex), ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    tmp.replace(out)
    return n


def read_jsonl(path: Path) -> Iterator[Example]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield Example(**json.loads(line))

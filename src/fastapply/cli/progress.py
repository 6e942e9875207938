"""One progress display for every command: a live line on stderr, never on stdout.

On a terminal it is a tqdm bar (a plain counter line where tqdm is not installed); off a
terminal it is silent, or, with ``every=N``, one plain line per N updates so a log shows
that long work moves on:

    bar = Bar(unit="job")
    bar.update(3, total=10, text="merge pkg/a.py")
    bar.close()
"""
from __future__ import annotations

import sys


class Bar:
    def __init__(self, *, unit: str = "it", enabled: bool | None = None, every: int = 0) -> None:
        self.tty = sys.stderr.isatty() if enabled is None else enabled
        self.unit, self.every = unit, every
        self.bar = None
        self.plain = False  # a counter line instead of tqdm

    def update(self, done: int, total: int | None = None, text: str = "") -> None:
        if not self.tty:
            if self.every and (done % self.every == 0 or done == total):
                sys.stderr.write(f"{self.unit} {done}/{total}  {text}\n" if total else f"{self.unit} {done}  {text}\n")
            return
        if self.bar is None and not self.plain:
            try:
                from tqdm import tqdm
            except ImportError:
                self.plain = True
            else:
                self.bar = tqdm(total=total, initial=done, unit=self.unit, file=sys.stderr, dynamic_ncols=True)
        if self.plain:
            sys.stderr.write(f"\r\033[K  {done}{f'/{total}' if total else ''} {self.unit}  {text}")
            sys.stderr.flush()
            return
        if total is not None and self.bar.total != total:
            self.bar.total = total
        self.bar.set_postfix_str(text, refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.plain:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


class TokenMeter:
    """``on_step`` for an apply: output tokens, tokens/s and tokens per forward pass."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.bar = Bar(unit="tok", enabled=enabled)

    def __call__(self, _new_tokens, stats) -> None:
        self.bar.update(stats.output_tokens, None,
                        f"{stats.tokens_per_second:6.1f} tok/s  {stats.tokens_per_pass:4.1f} tok/pass")

    def close(self) -> None:
        self.bar.close()

"""Errors a user can act on. Each carries the CLI exit code that reports it."""
from __future__ import annotations


class FastApplyError(Exception):
    exit_code = 1


class ConfigError(FastApplyError):
    """Bad settings: unknown model or backend, missing optional dependency."""

    exit_code = 2


class InputError(FastApplyError):
    """The file or snippet cannot be applied: missing, binary, not UTF-8, empty."""

    exit_code = 3


class ContextTooLong(InputError):
    """Prompt plus the expected answer do not fit the model's context window."""

    def __init__(self, needed: int, limit: int, detail: str = "") -> None:
        self.needed, self.limit = needed, limit
        super().__init__(
            f"the edit needs about {needed} tokens of context (prompt + rewritten file) "
            f"but the model's context holds {limit}{detail}"
        )


class OutputRejected(FastApplyError):
    """The answer is unusable (stopped early, leaked an elision marker, the merge refused, ...).

    Nothing is written when this is raised; ``text`` holds what the model wrote, for
    inspection, and ``kind`` says which guard refused (one of ``guards.KINDS``), so callers
    branch on it instead of parsing the message.
    """

    exit_code = 4

    def __init__(self, message: str, text: str = "", stats=None, kind: str = "") -> None:
        super().__init__(message)
        self.text = text
        self.stats = stats  # DecodeStats of the failed generation, when there was one
        self.kind = kind


class WriteError(FastApplyError):
    """The result could not be written, or writing it would damage something: the output is
    not a regular file, the target is read-only or hard-linked (without ``--force``), its owner
    could not be kept, the disk is full, the directory is read-only. Nothing was changed."""

    exit_code = 5


class ConcurrentChange(FastApplyError):
    """The target changed on disk between reading it and writing the result (another editor,
    another apply). Nothing was written; run the apply again on the new file."""

    exit_code = 6


class Interrupted(FastApplyError):
    """SIGINT (Ctrl-C) before the result was written: nothing was changed."""

    exit_code = 130

"""File extension -> language name and comment syntax, shared by prompt, merge and eval."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True)
class Language:
    name: str
    line_comment: str | None  # "//", "#", "--" ...
    block_comment: tuple[str, str] | None  # ("/*", "*/"), ("<!--", "-->") ...


LANGUAGES = {
    lang.name: lang
    for lang in [
        Language("python", "#", None),
        Language("javascript", "//", ("/*", "*/")),
        Language("typescript", "//", ("/*", "*/")),
        Language("java", "//", ("/*", "*/")),
        Language("c", "//", ("/*", "*/")),
        Language("cpp", "//", ("/*", "*/")),
        Language("go", "//", ("/*", "*/")),
        Language("rust", "//", ("/*", "*/")),
        Language("csharp", "//", ("/*", "*/")),
        Language("kotlin", "//", ("/*", "*/")),
        Language("swift", "//", ("/*", "*/")),
        Language("php", "//", ("/*", "*/")),
        Language("ruby", "#", None),
        Language("shell", "#", None),
        Language("yaml", "#", None),
        Language("toml", "#", None),
        Language("sql", "--", ("/*", "*/")),
        Language("lua", "--", None),
        Language("html", None, ("<!--", "-->")),
        Language("xml", None, ("<!--", "-->")),
        Language("css", None, ("/*", "*/")),
        Language("markdown", None, ("<!--", "-->")),
        Language("text", None, None),
    ]
}

_EXTENSIONS = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".tsx": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".go": "go", ".rs": "rust", ".cs": "csharp", ".kt": "kotlin", ".swift": "swift", ".php": "php",
    ".rb": "ruby", ".sh": "shell", ".bash": "shell", ".yml": "yaml", ".yaml": "yaml", ".toml": "toml",
    ".sql": "sql", ".lua": "lua", ".html": "html", ".htm": "html", ".xml": "xml", ".css": "css",
    ".md": "markdown",
}


def detect(path: str | None) -> Language:
    """Language of a file by its extension; plain text when unknown or no path."""
    if not path:
        return LANGUAGES["text"]
    return LANGUAGES[_EXTENSIONS.get(PurePath(path).suffix.lower(), "text")]

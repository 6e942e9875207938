"""``fastapply mcp`` over stdio, driven by the official MCP SDK's own client (merge mode)."""
from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from serverproc import tree_env

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ORIGINAL = (EXAMPLES / "app.py").read_text()
SNIPPET = (EXAMPLES / "app.snippet.py").read_text()
ANCHOR = "    def restock(self, sku: str, amount: int) -> None:\n"
EXPECTED = ORIGINAL.replace(ANCHOR, ANCHOR + '        if amount <= 0:\n            raise ValueError("amount must be positive")\n')


def call_all(root: Path, calls: list[dict]):
    """Start the server, list its tools, make the calls in order; return (tool names, results)."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "fastapply", "mcp", "--root", str(root),
                                                                 "--mode", "merge"], env=tree_env())

    async def session():
        with anyio.fail_after(120):  # a bound on a hung server, not a timing assertion
            return await _session()

    async def _session():
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                tools = [t.name for t in (await s.list_tools()).tools]
                return tools, [await s.call_tool("edit_file", c) for c in calls]

    return anyio.run(session)


def text(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text(ORIGINAL)
    outside = tmp_path / "outside.py"
    outside.write_text(ORIGINAL)
    (root / "src" / "link.py").symlink_to(outside)
    return root, outside


def test_edit_file_writes_inside_the_root_and_refuses_the_rest(project):
    root, outside = project
    edit = {"instruction": "check the amount", "code_edit": SNIPPET}
    tools, (ok, escape, absolute, link, empty) = call_all(root, [
        {"path": "src/app.py", **edit},
        {"path": "../outside.py", **edit},
        {"path": str(outside), **edit},
        {"path": "src/link.py", **edit},  # a symlink that leaves the root
        {"path": "src/app.py", "instruction": "", "code_edit": "# ... existing code ...\n"},
    ])
    assert tools == ["edit_file"]
    assert not ok.is_error, text(ok)
    assert (root / "src" / "app.py").read_text() == EXPECTED
    assert "+        if amount <= 0:" in text(ok) and "--- a/src/app.py" in text(ok)
    assert "written by: merge" in text(ok)
    for refused in (escape, absolute, link):
        assert refused.is_error and "outside the editable root" in text(refused)
    assert outside.read_text() == ORIGINAL  # never touched
    assert (root / "src" / "link.py").is_symlink()
    assert empty.is_error and "elision markers" in text(empty)
    assert (root / "src" / "app.py").read_text() == EXPECTED  # a refused edit writes nothing

"""Fault suite, privileges: an unprivileged user (made with useradd when the suite runs as root,
skipped otherwise; the CLI runs in a forked child that drops to it) cannot take over a file it may not write, and a stats failure keeps the result."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from faultkit import PY, PY_AFTER, SNIP

R = pytest.mark.fault("privilege", "refused")
W = pytest.mark.fault("privilege", "pass")
USER = "fastapply-fault"


@pytest.fixture(scope="module")
def user():
    if os.geteuid() != 0:
        pytest.skip("privilege cases need root (to make a test user)")
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pass
    if not shutil.which("useradd") or subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                                      USER], capture_output=True).returncode != 0:
        pytest.skip("cannot create a test user here")
    return pwd.getpwnam(USER)


@pytest.fixture
def shared(user):
    """A directory in /tmp that the test user owns (pytest's tmp_path is root-only)."""
    d = Path(tempfile.mkdtemp(prefix="fastapply-fault-"))
    os.chmod(d, 0o755)
    os.chown(d, user.pw_uid, user.pw_gid)
    yield d
    shutil.rmtree(d)


def as_user(user, *args, cwd=None):
    """The CLI as the test user: a forked child drops to the user's uid/gid and runs
    ``fastapply.cli.main`` (no exec: the interpreter may live where the user cannot read)."""
    import fastapply.applier  # noqa: F401  everything the child needs, imported before dropping privileges
    import fastapply.cli.apply  # noqa: F401
    from fastapply.cli import main
    from fastapply.merge import structure

    structure.get_parser("python")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            os.close(read)
            os.dup2(write, 2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            sys.stdout, sys.stderr = open(1, "w", closefd=False), open(2, "w", closefd=False)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            sys.argv = ["fastapply", *map(str, args)]
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        finally:
            try:
                sys.stderr.flush()
            finally:
                os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        err = f.read()
    _, status = os.waitpid(pid, 0)
    return subprocess.CompletedProcess(args, os.waitstatus_to_exitcode(status), b"", err)


def files(shared, user, owner_root=True):
    target, snip = shared / "t.py", shared / "edit.snippet"
    target.write_text(PY)
    snip.write_text(SNIP)
    os.chmod(snip, 0o644)
    if not owner_root:
        os.chown(target, user.pw_uid, user.pw_gid)
    return target, snip


@R
def test_user_cannot_take_over_a_file_it_may_not_write(shared, user):
    """The directory is the user's, the file root's (0644): without --force refused as read-only;
    with --force refused because the owner cannot be kept. Never silently the user's file."""
    target, snip = files(shared, user)
    os.chmod(target, 0o644)
    for extra in ([], ["--force"]):
        p = as_user(user, "apply", target, "-s", snip, "--mode", "merge", "--in-place", *extra)
        assert p.returncode == 5, p.stderr
        assert b"Traceback" not in p.stderr
        st = target.stat()
        assert st.st_uid == 0 and target.read_text() == PY
    assert sorted(os.listdir(shared)) == ["edit.snippet", "t.py"]


@R
def test_unwritable_output_directory_is_one_line(shared, user):
    target, snip = files(shared, user, owner_root=False)
    locked = shared / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    p = as_user(user, "apply", target, "-s", snip, "--mode", "merge", "-o", locked / "out.py")
    assert p.returncode == 5 and b"permission denied" in p.stderr and b"Traceback" not in p.stderr
    assert os.listdir(locked) == []


@W
def test_stats_failure_never_loses_the_result(shared, user):
    target, snip = files(shared, user, owner_root=False)
    locked = shared / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    p = as_user(user, "apply", target, "-s", snip, "--mode", "merge", "--in-place", "--stats-json", locked / "s.json")
    assert p.returncode == 5 and b"the result was written" in p.stderr
    assert target.read_text() == PY_AFTER


@W
def test_user_edits_its_own_file(shared, user):
    target, snip = files(shared, user, owner_root=False)
    p = as_user(user, "apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert p.returncode == 0, p.stderr
    assert target.read_text() == PY_AFTER and target.stat().st_uid == user.pw_uid

"""Fault suite, write path: links, metadata, non-regular files, distinct outputs, compare-and-swap."""
from __future__ import annotations

import os
import stat

import pytest
from faultkit import PY, PY_AFTER, SNIP, one_line_error, proc, project, run

from fastapply import writing
from fastapply.errors import ConcurrentChange, WriteError

W = pytest.mark.fault("write", "pass")
R = pytest.mark.fault("write", "refused")


@W
def test_symlink_target_edits_the_file_it_points_to(tmp_path):
    real, snip = project(tmp_path, name="real.py")
    link = tmp_path / "link.py"
    link.symlink_to("real.py")
    r = run("apply", link, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and os.readlink(link) == "real.py"
    assert real.read_text() == PY_AFTER


@W
def test_symlink_output_is_followed(tmp_path):
    target, snip = project(tmp_path)
    out = tmp_path / "out.py"
    out.write_text("old\n")
    link = tmp_path / "out-link.py"
    link.symlink_to(out)
    r = run("apply", target, "-s", snip, "--mode", "merge", "-o", link)
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and out.read_text() == PY_AFTER


@W
def test_mode_and_setid_bits_kept(tmp_path):
    target, snip = project(tmp_path)
    os.chmod(target, 0o2755)
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o2755


@W
def test_owner_kept_when_root_edits_a_users_file(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to give the file away")
    target, snip = project(tmp_path)
    os.chown(target, 4242, 4343)
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 0, r.output
    st = target.stat()
    assert (st.st_uid, st.st_gid) == (4242, 4343) and target.read_text() == PY_AFTER


@W
def test_xattrs_kept(tmp_path):
    target, snip = project(tmp_path)
    try:
        os.setxattr(target, "user.origin", b"kept")
    except OSError:
        pytest.skip("this file system has no user xattrs")
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 0, r.output
    assert os.getxattr(target, "user.origin") == b"kept"


@R
def test_hard_linked_file_refused_without_force(tmp_path):
    target, snip = project(tmp_path)
    other = tmp_path / "other.py"
    os.link(target, other)
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 5 and "hard links" in r.output and one_line_error(r.output)
    assert target.read_text() == PY == other.read_text()


@W
def test_hard_linked_file_with_force_keeps_names_in_sync(tmp_path):
    target, snip = project(tmp_path)
    other = tmp_path / "other.py"
    os.link(target, other)
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place", "--force")
    assert r.exit_code == 0, r.output
    assert target.read_text() == PY_AFTER == other.read_text()
    assert os.stat(target).st_ino == os.stat(other).st_ino


@R
def test_read_only_file_refused_without_force(tmp_path):
    target, snip = project(tmp_path)
    os.chmod(target, 0o444)
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 5 and "read-only" in r.output and one_line_error(r.output)
    assert target.read_text() == PY


@W
def test_read_only_file_with_force_keeps_its_mode(tmp_path):
    target, snip = project(tmp_path)
    os.chmod(target, 0o444)
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place", "--force")
    assert r.exit_code == 0, r.output
    assert target.read_text() == PY_AFTER and stat.S_IMODE(target.stat().st_mode) == 0o444


@W
def test_longest_file_name_can_be_edited_in_place(tmp_path):
    name = "x" * 252 + ".py"  # 255 bytes: NAME_MAX
    target, snip = project(tmp_path, name=name)
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 0, r.output
    assert target.read_text() == PY_AFTER and sorted(os.listdir(tmp_path)) == sorted([name, "edit.snippet"])


@W
def test_new_output_file_gets_the_umask_mode(tmp_path):
    target, snip = project(tmp_path)
    out = tmp_path / "new.py"
    old = os.umask(0o022)
    try:
        r = run("apply", target, "-s", snip, "--mode", "merge", "-o", out)
    finally:
        os.umask(old)
    assert r.exit_code == 0 and stat.S_IMODE(out.stat().st_mode) == 0o644


def non_regular(tmp_path, kind: str, name: str):
    """A FIFO or a directory called ``name`` in tmp_path, or /dev/null (a character device)."""
    if kind == "devnull":
        return "/dev/null"
    path = tmp_path / name
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    return path


@R
@pytest.mark.parametrize("kind", ["fifo", "devnull", "directory"])
def test_non_regular_output_refused(tmp_path, kind):
    target, snip = project(tmp_path)
    out = non_regular(tmp_path, kind, "pipe" if kind == "fifo" else "dir")
    r = run("apply", target, "-s", snip, "--mode", "merge", "-o", out)
    assert r.exit_code == 5 and "not a regular file" in r.output and one_line_error(r.output)
    assert target.read_text() == PY
    if kind == "devnull":
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    if kind == "fifo":
        assert stat.S_ISFIFO(os.stat(out).st_mode)


@R
def test_dev_stdout_is_never_replaced(tmp_path):
    """-o /dev/stdout with stdout a pipe: refused, and the /dev/stdout link stays a link."""
    target, snip = project(tmp_path)
    before = os.readlink("/dev/stdout")
    p = proc("apply", target, "-s", snip, "--mode", "merge", "-o", "/dev/stdout")
    assert p.returncode == 5 and b"not a regular file" in p.stderr and b"Traceback" not in p.stderr
    assert os.path.islink("/dev/stdout") and os.readlink("/dev/stdout") == before


@R
@pytest.mark.parametrize("kind", ["fifo", "devnull", "directory"])
def test_non_regular_target_refused_at_once(tmp_path, kind):
    _, snip = project(tmp_path)
    target = non_regular(tmp_path, kind, "pipe.py" if kind == "fifo" else "dir.py")
    p = proc("apply", target, "-s", snip, "--mode", "merge", "--in-place", timeout=30)
    assert p.returncode == 3 and b"not a regular file" in p.stderr and b"no such file" not in p.stderr
    if kind == "fifo":
        assert stat.S_ISFIFO(os.stat(target).st_mode)


@R
@pytest.mark.parametrize("kind", ["fifo", "devnull", "directory"])
def test_non_regular_snippet_refused_with_the_right_words(tmp_path, kind):
    target, _ = project(tmp_path)
    snip = non_regular(tmp_path, kind, "pipe" if kind == "fifo" else "dir")
    p = proc("apply", target, "-s", snip, "--mode", "merge", timeout=30)
    assert p.returncode == 3 and b"not a regular file" in p.stderr and b"no such file" not in p.stderr


@R
@pytest.mark.parametrize("which", ["target", "snippet", "output", "target-via-link"])
def test_stats_json_never_overwrites_another_file(tmp_path, which):
    target, snip = project(tmp_path)
    out = tmp_path / "out.py"
    out.write_text("keep\n")
    args = ["-o", out]
    stats = {"target": target, "snippet": snip, "output": out}.get(which)
    if which == "target-via-link":
        stats = tmp_path / "alias.json"
        stats.symlink_to(target)
    r = run("apply", target, "-s", snip, "--mode", "merge", *args, "--stats-json", stats)
    assert r.exit_code == 2 and "itself" in r.output and one_line_error(r.output)
    assert target.read_text() == PY and snip.read_text() == SNIP and out.read_text() == "keep\n"


@R
def test_output_onto_the_target_or_snippet_refused(tmp_path):
    target, snip = project(tmp_path)
    hard = tmp_path / "hard.snippet"
    os.link(snip, hard)
    for out in (target, hard):
        r = run("apply", target, "-s", snip, "--mode", "merge", "-o", out)
        assert r.exit_code == 2 and "itself" in r.output
    assert target.read_text() == PY and snip.read_text() == SNIP


@W
def test_stats_written_after_the_result(tmp_path):
    target, snip = project(tmp_path)
    stats = tmp_path / "stats.json"
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place", "--stats-json", stats)
    assert r.exit_code == 0 and target.read_text() == PY_AFTER
    assert stats.stat().st_mtime_ns >= target.stat().st_mtime_ns and '"source": "merge"' in stats.read_text()


@R
def test_missing_output_directory_is_one_line_before_any_work(tmp_path):
    target, snip = project(tmp_path)
    for flag in ("-o", "--stats-json"):
        p = proc("apply", target, "-s", snip, "--mode", "merge", flag, tmp_path / "no" / "such" / "x")
        assert p.returncode == 5 and b"does not exist" in p.stderr and b"Traceback" not in p.stderr
        assert p.stdout == b""  # refused before anything was printed or written
    assert target.read_text() == PY


@R
def test_changed_since_read_writes_nothing(tmp_path):
    """Compare-and-swap: a snapshot older than the file is refused, the newer text kept."""
    p = tmp_path / "a.py"
    p.write_text("one\n")
    _, snap = writing.read_regular(p)
    p.write_text("two\n")  # another editor, in place
    with pytest.raises(ConcurrentChange):
        writing.write_file(p, b"mine\n", expected=snap)
    assert p.read_text() == "two\n"
    _, snap = writing.read_regular(p)
    (tmp_path / "b.py").write_text("three\n")
    os.replace(tmp_path / "b.py", p)  # another editor, by rename (same size, new inode)
    with pytest.raises(ConcurrentChange):
        writing.write_file(p, b"mine\n", expected=snap)
    assert p.read_text() == "three\n" and sorted(os.listdir(tmp_path)) == ["a.py"]


@R
def test_changed_since_read_same_size_same_mtime_caught_by_hash(tmp_path):
    p = tmp_path / "a.py"
    p.write_text("aaaa\n")
    _, snap = writing.read_regular(p)
    st = p.stat()
    p.write_text("bbbb\n")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(ConcurrentChange):
        writing.write_file(p, b"mine\n", expected=snap)
    assert p.read_text() == "bbbb\n"


@R
def test_removed_since_read_writes_nothing(tmp_path):
    p = tmp_path / "a.py"
    p.write_text("one\n")
    _, snap = writing.read_regular(p)
    p.unlink()
    with pytest.raises(ConcurrentChange):
        writing.write_file(p, b"mine\n", expected=snap)
    assert not p.exists()


@R
def test_failed_write_leaves_no_temp_file(tmp_path):
    """A write that fails after the temp file exists (an xattr that cannot be kept) cleans up."""
    p = tmp_path / "a.py"
    p.write_text("one\n")
    try:
        os.setxattr(p, "trusted.fastapply-test", b"x")
    except OSError:
        pytest.skip("no trusted xattrs here (needs root and a file system that has them)")
    # trusted.* can be set by root; keep the case honest by checking it is copied instead
    writing.write_file(p, b"two\n")
    assert p.read_text() == "two\n" and os.getxattr(p, "trusted.fastapply-test") == b"x"
    assert os.listdir(tmp_path) == ["a.py"]


@W
def test_unchanged_result_leaves_the_file_alone(tmp_path):
    target, snip = project(tmp_path, snippet="# ... existing code ...\ndef g():\n    return 2\n")
    before = target.stat().st_mtime_ns, target.stat().st_ino
    r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
    assert r.exit_code == 0 and (target.stat().st_mtime_ns, target.stat().st_ino) == before


@R
def test_write_error_is_one_line(tmp_path):
    with pytest.raises(WriteError, match="does not exist"):
        writing.write_file(tmp_path / "nope" / "a.py", b"x\n")


@R
def test_disk_full_is_one_line_and_leaves_the_file(tmp_path):
    """A real full file system (a 64 KiB tmpfs, mounted when the suite runs as root)."""
    import subprocess

    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root and mount to make a small file system")
    try:
        body = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(600))  # about 16 KB
        target, snip = mnt / "t.py", tmp_path / "s.py"
        target.write_text(body)
        snip.write_text("# ... existing code ...\ndef f599():\n    return -1\n")
        filler = mnt / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # fill what is left
        try:
            while True:
                os.write(fd, b"x" * 1024)
        except OSError:
            pass
        finally:
            os.close(fd)
        r = run("apply", target, "-s", snip, "--mode", "merge", "--in-place")
        assert r.exit_code == 5 and "no space left" in r.output and one_line_error(r.output), r.output
        assert target.read_text() == body and sorted(os.listdir(mnt)) == ["filler", "t.py"]
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)

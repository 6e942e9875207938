"""The write path: read only regular files, and write a result without ever damaging a file.

``read_regular`` opens without blocking (a FIFO with no writer is refused at once, not waited
on), refuses anything but a regular file by its kind ("a FIFO", "a character device"), and
returns the bytes with a ``Snapshot`` of what was read: inode, mtime, size and a SHA-256.

``write_file`` replaces a file's content:

- symlinks are followed: the file a link points to is edited and the link stays a link;
- only regular files are written (``-o /dev/stdout`` is refused, never replaced);
- a read-only file (no write bit, or not writable by this user) and a hard-linked file
  are refused unless ``force``; with ``force`` a hard-linked file is rewritten in place,
  so every name sees the edit (that one case is not atomic), and a read-only file keeps
  its mode;
- otherwise the bytes go to a temporary file in the same directory (its name always fits
  NAME_MAX), which gets the target's owner, group, mode and extended attributes (ACLs are
  xattrs) before one ``rename`` puts it in place. If the owner cannot be kept (a user who
  may write the directory but not the file), nothing is written;
- compare-and-swap: with ``expected`` (the snapshot taken when the target was read), the
  target is locked (``flock``; two fastapply processes serialise on it) and re-checked
  under the lock — same inode at the same path, same mtime, size and hash — right before
  the rename. A file that changed is left alone: ``ConcurrentChange`` (exit 6).

Every ``OSError`` becomes a one-line ``WriteError`` (exit 5) or ``InputError`` (exit 3):

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "a.py")
    >>> write_file(p, b"x = 1\\n")
    >>> data, snap = read_regular(p)
    >>> write_file(p, b"x = 2\\n", expected=snap)
    >>> write_file(p, b"x = 3\\n", expected=snap)
    Traceback (most recent call last):
    ...
    fastapply.errors.ConcurrentChange: ... changed on disk since it was read ...
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import secrets
import stat
import time
from dataclasses import dataclass

from .errors import ConcurrentChange, InputError, WriteError

LOCK_TIMEOUT = 30.0  # seconds to wait for another fastapply holding the target's lock
_TEMP_SUFFIX = ".fastapply-tmp"
_TOKEN_HEX = 8  # random hex digits in a temp name


@dataclass(frozen=True)
class Snapshot:
    """What was read: the real path and the file's identity and content at that moment."""

    path: str  # symlinks resolved
    dev: int
    ino: int
    mtime_ns: int
    size: int
    sha256: str


def kind(mode: int) -> str:
    """A file type in words, for messages: 'a directory', 'a FIFO (named pipe)', ..."""
    for test, words in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
                        (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                        (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symlink")):
        if test(mode):
            return words
    return "not a regular file"


def describe_oserror(exc: OSError) -> str:
    """An OSError's reason in words, lower case, without the path."""
    return (exc.strerror or str(exc)).lower()


def identity(path: str | os.PathLike) -> tuple[int, int] | None:
    """(st_dev, st_ino) of what path names, symlinks followed; None when nothing is there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def read_regular(path: str | os.PathLike, *, what: str = "", limit: int | None = None) -> tuple[bytes, Snapshot]:
    """The bytes of a regular file and a Snapshot of it; ``InputError`` for anything else.

    ``what`` names the file in messages ("snippet"); ``limit`` is the most bytes accepted.
    """
    label = f"{what} {os.fspath(path)}".strip()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        dangling = os.path.islink(path)
        raise InputError(f"{label}: no such file" + (" (a symlink to a missing file)" if dangling else "")) from None
    except OSError as exc:
        raise InputError(f"{label}: cannot open ({describe_oserror(exc)})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{label} is not a regular file ({kind(st.st_mode)}); only regular files can be "
                             "read and edited")
        if limit is not None and st.st_size > limit:
            raise InputError(f"{label} is {st.st_size} bytes, over the limit of {limit} (--max-input-bytes)")
        data = _read_all(fd, None if limit is None else limit + 1)
        if limit is not None and len(data) > limit:
            raise InputError(f"{label} grew past the limit of {limit} bytes while it was read (--max-input-bytes)")
    except OSError as exc:
        raise InputError(f"{label}: cannot read ({describe_oserror(exc)})") from None
    finally:
        os.close(fd)
    snap = Snapshot(os.path.realpath(path), st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size,
                    hashlib.sha256(data).hexdigest())
    return data, snap


def read_stream(fd: int, *, what: str = "standard input", limit: int | None = None) -> bytes:
    """Everything from an open descriptor (a pipe, a terminal, a file), at most ``limit`` bytes."""
    try:
        data = _read_all(fd, None if limit is None else limit + 1)
    except OSError as exc:
        raise InputError(f"{what}: cannot read ({describe_oserror(exc)})") from None
    if limit is not None and len(data) > limit:
        raise InputError(f"{what} holds more than the limit of {limit} bytes (--max-input-bytes)")
    return data


def _read_all(fd: int, cap: int | None) -> bytes:
    chunks, total = [], 0
    while cap is None or total < cap:
        chunk = os.read(fd, 1 << 20 if cap is None else min(1 << 20, cap - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def temp_name(name: str, name_max: int = 255) -> str:
    """A hidden temporary name next to ``name`` that fits NAME_MAX bytes, however long ``name`` is.

    >>> temp_name("app.py").startswith(".app.py.") and temp_name("app.py").endswith(".fastapply-tmp")
    True
    >>> len(os.fsencode(temp_name("x" * 255))) <= 255
    True
    """
    tail = f".{secrets.token_hex(_TOKEN_HEX // 2)}{_TEMP_SUFFIX}"
    budget = name_max - 1 - len(tail)
    stem = name
    while len(os.fsencode(stem)) > budget:
        stem = stem[:-1]
    return f".{stem}{tail}"


def _name_max(directory: str) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def read_only(st: os.stat_result, path: str) -> bool:
    """No write bit at all, or not writable by this user."""
    return not (st.st_mode & 0o222) or not os.access(path, os.W_OK)


def write_file(path: str | os.PathLike, data: bytes, *, expected: Snapshot | None = None, force: bool = False) -> None:
    """Replace the content of ``path`` (symlinks followed) with ``data``; see the module docstring."""
    shown = os.fspath(path)
    try:  # what the name leads to, links followed (/dev/stdout -> a pipe has no real path to stat)
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            check_writable(shown, st, shown, force=force)
    except OSError:
        pass
    real = os.path.realpath(path)
    parent, name = os.path.split(real)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise WriteError(f"cannot write {shown}: {describe_oserror(exc)}") from None
    if st is None:
        if expected is not None:
            raise ConcurrentChange(f"{shown} was removed since it was read; nothing was written")
        if not os.path.isdir(parent):
            raise WriteError(f"cannot write {shown}: the directory {parent} does not exist")
    else:
        check_writable(shown, st, real, force=force)
    lock_fd = None
    try:
        if st is not None:
            lock_fd = _lock(real, shown)
            if expected is not None:
                _verify(lock_fd, real, shown, expected)
            st = os.fstat(lock_fd)
        if st is not None and st.st_nlink > 1:  # force given (else refused above): keep the names in sync
            _write_in_place(real, data)
        else:
            _replace(real, parent, name, data, st)
    except OSError as exc:
        raise WriteError(f"cannot write {shown}: {describe_oserror(exc)}; nothing was changed") from None
    finally:
        if lock_fd is not None:
            os.close(lock_fd)  # releases the flock


def check_writable(shown: str, st: os.stat_result, real: str, *, force: bool = False) -> None:
    """Refuse (``WriteError``) to replace what must not be replaced: not a regular file, or,
    without ``force``, a hard-linked or read-only file."""
    if not stat.S_ISREG(st.st_mode):
        raise WriteError(f"{shown} is not a regular file ({kind(st.st_mode)}); fastapply writes only regular "
                         "files (leave out -o to print the result)")
    if force:
        return
    if st.st_nlink > 1:
        raise WriteError(f"{shown} has {st.st_nlink} hard links; replacing it would leave the other names with the "
                         "old text. --force rewrites it in place, so every name sees the edit (not atomic)")
    if read_only(st, real):
        raise WriteError(f"{shown} is read-only (mode {stat.S_IMODE(st.st_mode):04o}); --force writes it anyway, "
                         "keeping its mode")


def _lock(real: str, shown: str) -> int:
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            if time.monotonic() > deadline:
                os.close(fd)
                raise ConcurrentChange(f"{shown} stayed locked by another apply for {LOCK_TIMEOUT:.0f}s; "
                                       "nothing was written") from None
            time.sleep(0.02)


def _verify(lock_fd: int, real: str, shown: str, expected: Snapshot) -> None:
    """Under the lock: the path still names the inode that was read, unchanged."""
    held, now = os.fstat(lock_fd), os.stat(real)
    same = ((held.st_dev, held.st_ino) == (now.st_dev, now.st_ino) == (expected.dev, expected.ino)
            and held.st_mtime_ns == expected.mtime_ns and held.st_size == expected.size)
    if same:
        os.lseek(lock_fd, 0, os.SEEK_SET)
        same = hashlib.sha256(_read_all(lock_fd, expected.size + 1)).hexdigest() == expected.sha256
    if not same:
        raise ConcurrentChange(f"{shown} changed on disk since it was read (another editor or apply); nothing was "
                               "written: run the apply again on the new file")


def _write_in_place(real: str, data: bytes) -> None:
    fd = os.open(real, os.O_WRONLY | os.O_CLOEXEC)
    try:
        _write_all(fd, data)
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _replace(real: str, parent: str, name: str, data: bytes, st: os.stat_result | None) -> None:
    name_max = _name_max(parent)
    while True:
        tmp = os.path.join(parent, temp_name(name, name_max))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            break
        except FileExistsError:
            continue
    try:
        try:
            _write_all(fd, data)
            if st is None:
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(fd, 0o666 & ~umask)
            else:
                _copy_metadata(fd, real, st)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _sync_dir(parent)


def _copy_metadata(fd: int, real: str, st: os.stat_result) -> None:
    """Owner, group, mode and extended attributes of ``real`` onto the temp file ``fd``."""
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) != (st.st_uid, st.st_gid):
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
        except PermissionError:
            raise WriteError(f"{real} belongs to uid {st.st_uid} gid {st.st_gid}; replacing it would give it to "
                             f"uid {mine.st_uid} gid {mine.st_gid} (this user cannot keep its owner); nothing was "
                             "written") from None
    os.fchmod(fd, stat.S_IMODE(st.st_mode))  # after chown, which clears set-id bits
    try:
        names = os.listxattr(real)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.ENODATA):
            return
        raise
    for attr in names:
        try:
            os.setxattr(fd, attr, os.getxattr(real, attr))
        except OSError as exc:
            if attr == "security.selinux":
                continue  # the new file takes the directory's label
            raise WriteError(f"cannot keep the extended attribute {attr} of {real} ({describe_oserror(exc)}); "
                             "nothing was written") from None


def _sync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

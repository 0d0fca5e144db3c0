"""Every read of the data root and of static/: opened once, never through a link, checked on
the open descriptor, and read from that descriptor.

The threat is anything that can put a file where the studio reads: a crashed or newer runner,
a disk error, a synced folder, another local user. A path is therefore never trusted between
a check and a use. The folder a file must lie in is opened first (O_DIRECTORY|O_NOFOLLOW); each
further name is opened relative to the descriptor of the one before with O_NOFOLLOW, so no
symbolic link is followed anywhere below that folder and nothing outside it can be reached;
O_NONBLOCK keeps a FIFO planted under a file's name from hanging the open. The descriptor is
then checked with fstat: a regular file, with one link (a hard link to .env is a second name
for it), no bigger than its cap. Whatever is served or parsed is read from that same
descriptor, so swapping the file for a link afterwards changes nothing.

The data root itself and its sessions/ and logs/ folders are the person's choice and may be
links; a session folder may not.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Iterator, Sequence

FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK = 256 * 1024

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))


class Refused(Exception):
    """A file the studio will not read; `reason` says why in a few words ("is a symbolic link")."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name} {reason}")
        self.name = name
        self.reason = reason

    @property
    def missing(self) -> bool:
        return self.reason == "is missing"


def _mib(n: int) -> str:
    return f"{n / 1048576:g} MiB" if n >= 1048576 else f"{n // 1024} KiB"


def _os_reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "is missing"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link"
    return f"cannot be opened ({os.strerror(exc.errno or 0).lower()})"


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise Refused(repr(name), "is not a plain file name")


class Opened:
    """A checked regular file: its descriptor and the fstat taken of it. Close it (or use with)."""

    def __init__(self, fd: int, st: os.stat_result, name: str) -> None:
        self.fd = fd
        self.st = st
        self.name = name

    @property
    def size(self) -> int:
        return self.st.st_size

    def pread(self, offset: int, n: int) -> bytes:
        """Up to n bytes from offset (fewer if the file shrank; the file position is untouched)."""
        out = []
        while n > 0:
            data = os.pread(self.fd, min(n, CHUNK), offset)
            if not data:
                break
            out.append(data)
            offset += len(data)
            n -= len(data)
        return b"".join(out)

    def read_all(self) -> bytes:
        """The whole file as the fstat sized it (open_at already checked the size cap).

        One byte more is asked for, so a file that grew past its checked size is refused
        rather than read without bound. One pread: a regular file is read short only at its end.
        """
        data = os.pread(self.fd, self.size + 1, 0)
        if len(data) > self.size:
            raise Refused(self.name, "grew while it was read")
        return data

    def chunks(self, offset: int, length: int) -> Iterator[bytes]:
        while length > 0:
            data = os.pread(self.fd, min(CHUNK, length), offset)
            if not data:
                return   # the file shrank under us; the client sees a short body
            offset += len(data)
            length -= len(data)
            yield data

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)

    def __enter__(self) -> "Opened":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def open_dir(path: Path | str) -> int:
    """A descriptor for a base folder (the data root's sessions/ or logs/, static/): these
    are the person's choice, so a link is followed here and only here (open_subdir never)."""
    name = os.fspath(path)
    try:
        return os.open(name, DIR_FLAGS & ~os.O_NOFOLLOW)
    except OSError as exc:
        raise Refused(os.path.basename(name) or name, _os_reason(exc)) from None


def open_subdir(dir_fd: int, name: str) -> int:
    """A descriptor for the folder `name` directly inside dir_fd, never through a link."""
    _check_name(name)
    try:
        return os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            raise Refused(name, _not_a_folder(dir_fd, name)) from None
        raise Refused(name, _os_reason(exc)) from None


def _not_a_folder(dir_fd: int, name: str) -> str:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return "is missing"
    return "is a symbolic link" if stat.S_ISLNK(st.st_mode) else "is not a folder"


def open_at(dir_fd: int, parts: Sequence[str], *, max_bytes: int | None = None, one_link: bool = True) -> Opened:
    """The regular file dir_fd/parts..., opened and checked as the module docstring says.

    Raises Refused: missing, a link anywhere on the way, not a regular file, more than one
    link (when one_link), or bigger than max_bytes.
    """
    if not parts:
        raise Refused("''", "is not a plain file name")
    shown = "/".join(parts)
    current = dir_fd
    opened_dirs: list[int] = []
    try:
        for name in parts[:-1]:
            current = open_subdir(current, name)
            opened_dirs.append(current)
        name = parts[-1]
        _check_name(name)
        try:
            fd = os.open(name, FILE_FLAGS, dir_fd=current)
        except OSError as exc:
            raise Refused(shown, _os_reason(exc)) from None
    except Refused as exc:
        raise Refused(shown, exc.reason) from None
    finally:
        for d in opened_dirs:
            os.close(d)
    try:
        st = os.fstat(fd)
        _check(st, shown, max_bytes, one_link)
    except BaseException:
        os.close(fd)
        raise
    return Opened(fd, st, shown)


def _check(st: os.stat_result, name: str, max_bytes: int | None, one_link: bool) -> None:
    if not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in _KINDS if test(st.st_mode)), "not a regular file")
        raise Refused(name, f"is {kind}")
    if one_link and st.st_nlink != 1:
        raise Refused(name, f"has {st.st_nlink} hard links")
    if max_bytes is not None and st.st_size > max_bytes:
        raise Refused(name, f"is larger than {_mib(max_bytes)}")


def read_at(dir_fd: int, parts: Sequence[str], max_bytes: int) -> bytes:
    """The whole of a checked file of at most max_bytes."""
    with open_at(dir_fd, parts, max_bytes=max_bytes) as f:
        return f.read_all()


def read_tail(dir_fd: int, parts: Sequence[str], window: int, start: int = 0) -> tuple[bytes, int, int]:
    """(bytes, offset of the first, file size): the file from `start`, or only its last
    `window` bytes when more than that lies beyond `start`. Any size of file is allowed."""
    with open_at(dir_fd, parts) as f:
        size = f.size
        start = max(start, size - window, 0)
        data = f.pread(start, size - start) if size > start else b""
        return data, start, size


def prefetch(dir_fd: int, relative: str) -> None:
    """Ask the kernel to start reading a file now (readahead without threads); never raises.

    Only a hint, so one open by its relative path is enough: O_NOFOLLOW and O_NONBLOCK keep
    a link or a FIFO under the last name harmless, and nothing is read here. The read that
    follows goes through open_at.
    """
    try:
        fd = os.open(relative, FILE_FLAGS, dir_fd=dir_fd)
    except OSError:
        return
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    except (OSError, AttributeError):
        pass
    finally:
        os.close(fd)


def read_in(dir_fd: int, folder: str, name: str, max_bytes: int) -> bytes:
    """folder/name below dir_fd, read whole: open_at's checks without its objects.

    The index reads ten thousand state files on a cold start, so this is the short path:
    the folder opened without following a link, the file likewise, fstat, one pread.
    Raises Refused like open_at (the name it gives is the folder's when the folder is refused).
    """
    dfd = open_subdir(dir_fd, folder)
    try:
        fd = os.open(name, FILE_FLAGS, dir_fd=dfd)
    except OSError as exc:
        raise Refused(name, _os_reason(exc)) from None
    finally:
        os.close(dfd)
    try:
        st = os.fstat(fd)
        _check(st, name, max_bytes, True)
        data = os.pread(fd, st.st_size + 1, 0)
    finally:
        os.close(fd)
    if len(data) > st.st_size:
        raise Refused(name, "grew while it was read")
    return data


class SessionFolder:
    """One session's folder, opened once and not through a link; its files are read through it."""

    def __init__(self, sessions_fd: int, session_id: str) -> None:
        self.id = session_id
        self.fd = -1             # so __del__ after a refused open has nothing to close
        self.fd = open_subdir(sessions_fd, session_id)

    def open(self, parts: Sequence[str], max_bytes: int | None = None) -> Opened:
        return open_at(self.fd, parts, max_bytes=max_bytes)

    def read(self, name: str, max_bytes: int) -> bytes:
        return read_at(self.fd, [name], max_bytes)

    def tail(self, name: str, window: int, start: int = 0) -> tuple[bytes, int, int]:
        return read_tail(self.fd, [name], window, start)

    def has_file(self, parts: Sequence[str]) -> bool:
        """Whether parts name a file this folder would serve (checked exactly as a read is)."""
        try:
            self.open(parts).close()
        except Refused:
            return False
        return True

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)

    def __enter__(self) -> "SessionFolder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def open_session(root: Path, session_id: str) -> SessionFolder:
    """root/sessions/<id> as a SessionFolder; Refused("... is missing") when there is none."""
    sessions = open_dir(root / "sessions")
    try:
        return SessionFolder(sessions, session_id)
    finally:
        os.close(sessions)

"""Hand freed image and audio buffers back to the system (glibc only; a no-op elsewhere).

glibc raises its mmap threshold every time a large block is freed, so after the artwork's
25 MB layers are released, later arrays of that size come from the heap and the heap
never shrinks: the runner would sit at its highest point for the rest of an hour-long
session. A fixed threshold keeps big numpy arrays in their own mappings, returned to the
system the moment they are freed, and two arenas stop worker threads from each keeping
their own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

_done = False
_libc = None


def _load_libc() -> ctypes.CDLL:
    # find_library runs ldconfig (a subprocess) on every call: try glibc's soname first.
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def tune() -> None:
    global _done, _libc
    if _done or not sys.platform.startswith("linux"):
        return
    _done = True
    try:
        libc = _load_libc()
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    _libc = libc
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(M_MMAP_THRESHOLD, 4 << 20)
    mallopt(M_TRIM_THRESHOLD, 8 << 20)
    mallopt(M_ARENA_MAX, 2)


def trim() -> None:
    """Return free heap pages to the system after a big job (a track, the artwork, a loop).

    Arrays under the mmap threshold leave holes in the heap that glibc keeps; trimming after
    each job stops those holes from adding up across a ten-track session.
    """
    if _libc is None:
        return
    try:
        _libc.malloc_trim(0)
    except AttributeError:
        pass

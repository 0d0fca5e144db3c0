"""Every ffmpeg call goes through this module.

One place decides which binary runs (FFMPEG, then PATH, then the imageio-ffmpeg wheel, so a
plain `pip install` is enough), turns a failure into one readable line, and turns
`-progress` output into a percentage. Arguments are always a list: no shell ever sees a
file name.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

ProgressFn = Callable[[float], None]

INSTALL_HINT = ("install it with `apt-get install ffmpeg` (or your system's package manager), "
                "or `pip install imageio-ffmpeg`, or point the FFMPEG variable at an ffmpeg binary")


class FFmpegMissing(RuntimeError):
    """No ffmpeg binary could be found; the message says how to get one."""


class FFmpegError(RuntimeError):
    """ffmpeg exited with an error; the message is a short summary of its stderr."""

    def __init__(self, message: str, *, returncode: int | None = None, stderr: str = "",
                 args: list[str] | None = None):
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr
        self.argv = list(args or [])


class MediaError(RuntimeError):
    """An input file is missing, empty or unreadable; the message names the file."""


# ----------------------------------------------------------------------------- binaries

def ffmpeg_exe() -> str:
    """The ffmpeg to run: $FFMPEG, then PATH, then imageio-ffmpeg's bundled binary.

    Not cached: tests (and people) change FFMPEG or PATH between calls, and the lookup costs
    microseconds next to any ffmpeg run.
    """
    env = os.environ.get("FFMPEG", "").strip()
    if env:
        path = Path(env).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        found = shutil.which(env)
        if found:
            return found
        raise FFmpegMissing(f"FFMPEG is set to {env!r}, which is not an executable file; fix it or unset it "
                            f"({INSTALL_HINT})")
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg  # noqa: PLC0415 - optional fallback, only when nothing else exists

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        if exe and Path(exe).is_file():
            return str(exe)
    except Exception:  # the wheel raises RuntimeError when its binary is missing for this platform
        pass
    raise FFmpegMissing(f"ffmpeg was not found: {INSTALL_HINT}")


def ffprobe_exe() -> str | None:
    """ffprobe beside the chosen ffmpeg, else on PATH; None when there is none (imageio-ffmpeg)."""
    try:
        exe = Path(ffmpeg_exe())
    except FFmpegMissing:
        return None
    sibling = exe.with_name("ffprobe" + exe.suffix) if exe.name.startswith("ffmpeg") else None
    if sibling and sibling.is_file() and os.access(sibling, os.X_OK):
        return str(sibling)
    if os.environ.get("FFMPEG"):
        # An explicit FFMPEG without a sibling ffprobe means "use this ffmpeg": a PATH ffprobe
        # might be another build, so read durations from the chosen ffmpeg instead.
        return None
    return shutil.which("ffprobe")


# ----------------------------------------------------------------------------- errors

_NOISE = re.compile(r"^(frame=|size=|\s*Last message repeated|Press \[q\]|\[.*@ 0x[0-9a-f]+\] (?:Qavg|frame I|frame P|mb |coded y|i16|i8|Weighted|ref |kb/s))")


def summarize_stderr(stderr: str, limit: int = 400) -> str:
    """The last meaningful lines of ffmpeg's stderr, short enough for one error line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not _NOISE.match(ln.strip())]
    tail = lines[-3:] if lines else ["(no output)"]
    text = " | ".join(tail)
    return text if len(text) <= limit else "..." + text[-limit:]


def _base_args(exe: str, progress: bool) -> list[str]:
    args = [exe, "-hide_banner", "-nostdin"]
    if progress:
        args += ["-progress", "pipe:1", "-nostats"]
    return args


# ----------------------------------------------------------------------------- running

async def run(args: list[str], *, duration_s: float | None = None,
              on_progress: ProgressFn | None = None) -> str:
    """Run ffmpeg with args (a list, never a shell); return its stderr text.

    With on_progress and duration_s, ffmpeg's `-progress` output (out_time_us) is turned
    into a 0-100 percentage. Cancelling the awaiting task kills ffmpeg, so an interrupted
    step leaves no orphan encoder behind.
    """
    exe = ffmpeg_exe()
    want_progress = on_progress is not None
    argv = _base_args(exe, want_progress) + [str(a) for a in args]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    stderr_task = asyncio.ensure_future(_read_all(proc.stderr))
    try:
        await _read_progress(proc.stdout, duration_s, on_progress)
        rc = await proc.wait()
        err = await stderr_task
    except BaseException:
        await _kill(proc)
        stderr_task.cancel()
        raise
    if rc != 0:
        raise FFmpegError(f"ffmpeg failed (exit {rc}): {summarize_stderr(err)}", returncode=rc,
                          stderr=err, args=argv)
    if on_progress is not None:
        on_progress(100.0)
    return err


# Linux's CFS gives a nice-10 process about a tenth of the CPU share of a nice-0 one when both
# want it (its weight table: 110 against 1024).
BACKGROUND_NICE = 10


def _lower_priority(pid: int) -> None:
    """Best effort: a priority we may not change (another platform, a sandbox) changes nothing else."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, pid) + BACKGROUND_NICE)
    except (AttributeError, OSError):
        pass


async def _read_all(stream: asyncio.StreamReader | None) -> str:
    if stream is None:
        return ""
    chunks = []
    while True:
        block = await stream.read(65536)
        if not block:
            break
        chunks.append(block)
        # ebur128 and friends can be chatty; keep the last part, where the summary lives.
        if sum(len(c) for c in chunks) > 4_000_000:
            chunks = [b"".join(chunks)[-1_000_000:]]
    return b"".join(chunks).decode("utf-8", "replace")


async def _read_progress(stream: asyncio.StreamReader | None, duration_s: float | None,
                         on_progress: ProgressFn | None) -> None:
    if stream is None:
        return
    last = -1.0
    while True:
        line = await stream.readline()
        if not line:
            return
        if on_progress is None or not duration_s or duration_s <= 0:
            continue
        key, _, value = line.decode("ascii", "replace").strip().partition("=")
        # out_time_ms is microseconds too in every ffmpeg release (a historic misnomer).
        if key in ("out_time_us", "out_time_ms"):
            try:
                seconds = int(value) / 1e6
            except ValueError:
                continue
            pct = max(0.0, min(99.9, 100.0 * seconds / duration_s))
            if pct - last >= 0.5:
                last = pct
                on_progress(pct)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        try:
            proc.kill()
        except ProcessLookupError:
            pass
        try:
            await asyncio.shield(proc.wait())
        except BaseException:
            pass


async def run_capture(args: list[str]) -> bytes:
    """Run ffmpeg writing its output to pipe:1; return those bytes (small outputs only)."""
    argv = _base_args(ffmpeg_exe(), False) + [str(a) for a in args]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        out, err_b = await proc.communicate()
    except BaseException:
        await _kill(proc)
        raise
    err = err_b.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise FFmpegError(f"ffmpeg failed (exit {proc.returncode}): {summarize_stderr(err)}",
                          returncode=proc.returncode, stderr=err, args=argv)
    return out


# What Pipe.feed asks of the pipe (bytes): Linux's default is 64 KiB; at most
# /proc/sys/fs/pipe-max-size (1 MiB by default) is granted without privileges.
FEED_PIPE_BYTES = 1 << 20


def _write_all(fd: int, chunks: Iterable[Any]) -> None:
    """Write each chunk whole to fd (non-blocking, as asyncio leaves it), then close fd."""
    try:
        try:
            import fcntl  # noqa: PLC0415 - POSIX only
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, FEED_PIPE_BYTES)
        except (ImportError, AttributeError, OSError):
            pass  # not Linux, or over the user's pipe quota: the default size works too
        for chunk in chunks:
            view = memoryview(chunk).cast("B")
            while view:
                try:
                    n = os.write(fd, view)
                except BlockingIOError:
                    select.select([], [fd], [])
                    continue
                view = view[n:]
    finally:
        os.close(fd)


class Pipe:
    """An ffmpeg process fed through stdin (raw frames or samples made in numpy).

    Use `async with Pipe(args) as p: await p.write(data)`; leaving the block closes stdin,
    waits, and raises FFmpegError on failure. An exception inside the block kills ffmpeg.
    """

    def __init__(self, args: list[str], *, duration_s: float | None = None,
                 on_progress: ProgressFn | None = None, background: bool = False):
        # background: a lower CPU priority (niceness +BACKGROUND_NICE) for an encoder nothing
        # waits on soon, so it takes the cores only when the rest leaves them idle.
        self.background = background
        self.args = [str(a) for a in args]
        self.duration_s = duration_s
        self.on_progress = on_progress
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr = ""

    async def __aenter__(self) -> "Pipe":
        exe = ffmpeg_exe()
        self.argv = _base_args(exe, self.on_progress is not None) + self.args
        # -nostdin would stop ffmpeg reading its input from pipe:0; drop it here.
        self.argv.remove("-nostdin")
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        if self.background:
            _lower_priority(self.proc.pid)
        self._err = asyncio.ensure_future(_read_all(self.proc.stderr))
        self._out = asyncio.ensure_future(_read_progress(self.proc.stdout, self.duration_s, self.on_progress))
        return self

    async def write(self, data: bytes | memoryview) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            # ffmpeg died; the real reason is in its stderr, reported on exit.
            await self._finish()
            raise FFmpegError(f"ffmpeg stopped reading its input: {summarize_stderr(self.stderr)}",
                              returncode=self.proc.returncode, stderr=self.stderr, args=self.argv)

    async def feed(self, chunks: Iterable[Any]) -> None:
        """Write every buffer chunks yields (bytes, memoryview, or a C-contiguous numpy array),
        asking for each and writing it in one worker thread.

        For input made in numpy, such as video frames: the event loop is not woken for every
        pipe-full (64 KiB) as with write(), and a chunk may be the producer's own array, since
        it is written before the next is asked for. The pipe is widened to 1 MiB where Linux
        allows. Raises FFmpegError if ffmpeg stops reading.
        """
        assert self.proc is not None and self.proc.stdin is not None
        # The worker writes through its own descriptor and closes it itself, so a cancelled
        # run (which closes the stream's) never leaves it writing to a reused number.
        fd = os.dup(self.proc.stdin.get_extra_info("pipe").fileno())
        try:
            await asyncio.to_thread(_write_all, fd, chunks)
        except (BrokenPipeError, ConnectionResetError):
            await self._finish()
            raise FFmpegError(f"ffmpeg stopped reading its input: {summarize_stderr(self.stderr)}",
                              returncode=self.proc.returncode, stderr=self.stderr, args=self.argv)

    async def _finish(self) -> int:
        assert self.proc is not None
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        await self._out
        rc = await self.proc.wait()
        self.stderr = await self._err
        return rc

    async def __aexit__(self, exc_type, exc, tb) -> None:
        assert self.proc is not None
        if exc_type is not None:
            await _kill(self.proc)
            self._out.cancel()
            self._err.cancel()
            return
        rc = await self._finish()
        if rc != 0:
            raise FFmpegError(f"ffmpeg failed (exit {rc}): {summarize_stderr(self.stderr)}",
                              returncode=rc, stderr=self.stderr, args=self.argv)
        if self.on_progress is not None:
            self.on_progress(100.0)


def run_sync(args: list[str], *, timeout: float | None = None) -> str:
    """Blocking twin of run(), for small jobs called from synchronous code (thumbnails, probes)."""
    argv = _base_args(ffmpeg_exe(), False) + [str(a) for a in args]
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise FFmpegError(f"ffmpeg timed out after {timeout:g} s", args=argv) from exc
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise FFmpegError(f"ffmpeg failed (exit {proc.returncode}): {summarize_stderr(err)}",
                          returncode=proc.returncode, stderr=err, args=argv)
    return err


# ----------------------------------------------------------------------------- probing

def probe(path: Path | str) -> dict[str, Any]:
    """What a media file holds: {"duration", "video", "audio", "format", "size", "tags"}.

    tags: the file's metadata (title, artist, ...) with lower-case keys, the container's
    first and then the audio stream's (Ogg and Opus keep theirs there); empty without ffprobe.

    Uses ffprobe when there is one; otherwise parses `ffmpeg -i`, which the imageio-ffmpeg
    wheel (no ffprobe) can always do. Raises MediaError when the file cannot be read.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"file not found: {path}")
    exe = ffprobe_exe()
    if exe:
        return _probe_ffprobe(exe, path)
    return _probe_ffmpeg(path)


async def aprobe(path: Path | str) -> dict[str, Any]:
    return await asyncio.to_thread(probe, path)


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out else None


def _rate(text: Any) -> float | None:
    if not isinstance(text, str) or "/" not in text:
        return _num(text)
    a, _, b = text.partition("/")
    na, nb = _num(a), _num(b)
    return na / nb if na is not None and nb else None


def _probe_ffprobe(exe: str, path: Path) -> dict[str, Any]:
    argv = [exe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    err = proc.stderr.decode("utf-8", "replace")
    try:
        data = json.loads(proc.stdout or b"{}")
    except ValueError:
        data = {}
    if proc.returncode != 0 or not data.get("streams"):
        raise MediaError(f"cannot read {path}: {summarize_stderr(err) if err.strip() else 'no media streams'}")
    fmt = data.get("format") or {}
    out: dict[str, Any] = {"duration": _num(fmt.get("duration")) or 0.0, "video": None, "audio": None,
                           "format": fmt.get("format_name"), "size": path.stat().st_size,
                           "bit_rate": _num(fmt.get("bit_rate")), "tags": _tags(fmt.get("tags"))}
    for s in data["streams"]:
        kind = s.get("codec_type")
        if kind == "video" and out["video"] is None and not (s.get("disposition") or {}).get("attached_pic"):
            out["video"] = {
                "codec": s.get("codec_name"), "width": s.get("width"), "height": s.get("height"),
                "pix_fmt": s.get("pix_fmt"), "fps": _rate(s.get("avg_frame_rate")) or _rate(s.get("r_frame_rate")),
                "r_frame_rate": s.get("r_frame_rate"), "avg_frame_rate": s.get("avg_frame_rate"),
                "duration": _num(s.get("duration")), "frames": int(s["nb_frames"]) if str(s.get("nb_frames", "")).isdigit() else None,
                "has_b_frames": s.get("has_b_frames"), "profile": s.get("profile"),
                "start": _num(s.get("start_time")),
            }
        elif kind == "audio" and out["audio"] is None:
            out["tags"] = {**_tags(s.get("tags")), **out["tags"]}
            out["audio"] = {
                "codec": s.get("codec_name"), "sample_rate": int(s.get("sample_rate") or 0) or None,
                "channels": s.get("channels"), "channel_layout": s.get("channel_layout"),
                "duration": _num(s.get("duration")), "start": _num(s.get("start_time")),
                "bit_rate": _num(s.get("bit_rate")),
            }
    if not out["duration"]:
        durations = [d for d in ((out["video"] or {}).get("duration"), (out["audio"] or {}).get("duration")) if d]
        out["duration"] = max(durations) if durations else 0.0
    return out


def _tags(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(k).lower(): str(v) for k, v in raw.items() if isinstance(v, (str, int, float))}


def decoded_frames(path: Path, rate: int) -> int:
    """Sample frames the first audio stream of path decodes to, resampled to rate Hz: its real
    length, as the master will hear it (header durations can be estimates, or lie when a file
    was cut short). Decodes the whole stream. Raises MediaError (naming the file) when ffmpeg
    cannot decode it, or reports an error on the way: at -v error a decoder or demuxer speaks
    only of data it could not read (a FLAC or AAC frame cut off, "partial file"), so a good
    file decodes in silence."""
    argv = _base_args(ffmpeg_exe(), False) + ["-v", "error", "-i", str(path), "-map", "0:a:0", "-vn", "-ac", "2",
                                              "-ar", str(rate), "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1"]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        size = 0
        try:
            while block := proc.stdout.read(1 << 20):
                size += len(block)
        finally:
            proc.stdout.close()
            rc = proc.wait()
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    if rc != 0:
        raise MediaError(f"cannot decode {path}: {summarize_stderr(text, 160)}")
    said = decoder_errors(text)
    if said:
        raise MediaError(f"damaged data in {path}: {said[0][:160]}")
    return size // 4


_WHO = re.compile(r"^\[[\w:,.-]+ @ 0x[0-9a-f]+\]\s*")
_GENERIC = "Error while decoding stream"


def decoder_errors(stderr: str) -> list[str]:
    """ffmpeg's error lines without their "[aac @ 0x...]" prefix, the specific ones first
    (the generic "Error while decoding stream ..." that follows each is last)."""
    lines = [_WHO.sub("", ln.strip()) for ln in stderr.splitlines() if ln.strip() and not _NOISE.match(ln.strip())]
    return sorted(lines, key=lambda ln: ln.startswith(_GENERIC))


# ISO BMFF (MP4, M4A, MOV) boxes that only protected content has: a protection scheme (sinf,
# schm), encrypted sample entries (enca, encv; drms, drmi: Apple FairPlay) and DRM system
# headers (pssh). ISO/IEC 14496-12 8.12 and ISO/IEC 23001-7 (Common Encryption).
_DRM_BOXES = {b"sinf", b"schm", b"enca", b"encv", b"drms", b"drmi", b"pssh", b"tenc"}
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"edts", b"sinf", b"schi"}
# Sample entries whose children (sinf) follow their fixed fields: bytes to skip before them.
_SAMPLE_ENTRIES = {b"mp4a": 28, b"enca": 28, b"drms": 28, b"alac": 28, b"ac-3": 28, b"ec-3": 28, b"Opus": 28,
                   b"fLaC": 28, b"avc1": 78, b"avc3": 78, b"hvc1": 78, b"hev1": 78, b"encv": 78, b"drmi": 78,
                   b"mp4v": 78, b"vp09": 78, b"av01": 78}


def protection(path: Path) -> str | None:
    """The DRM box an MP4/M4A/MOV file carries ("sinf", "enca", "pssh", ...), or None.

    Protected media cannot be decoded without its keys (ffmpeg reads CENC-encrypted AAC as
    noise), and a person's own video must not carry it. Only the box tree is read."""
    path = Path(path)
    if not _is_bmff(path):
        return None
    with open(path, "rb") as fh:
        return _find_boxes(fh, 0, path.stat().st_size, 0)


def _find_boxes(fh: Any, start: int, end: int, depth: int) -> str | None:
    import struct  # noqa: PLC0415

    pos = start
    while pos + 8 <= end and depth < 12:
        fh.seek(pos)
        hdr = fh.read(16)
        size, kind = struct.unpack(">I", hdr[:4])[0], hdr[4:8]
        head = 8
        if size == 1 and len(hdr) == 16:
            size, head = struct.unpack(">Q", hdr[8:16])[0], 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            return None
        if kind in _DRM_BOXES:
            return kind.decode("latin-1")
        inner = None
        if kind in _CONTAINERS:
            inner = pos + head
        elif kind == b"stsd":
            inner = pos + head + 8          # version, flags, entry count
        elif kind in _SAMPLE_ENTRIES:
            inner = pos + head + _SAMPLE_ENTRIES[kind]
        if inner is not None and inner < pos + size:
            found = _find_boxes(fh, inner, pos + size, depth + 1)
            if found:
                return found
        pos += size
    return None


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+).*?, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)")
_FPS = re.compile(r"([\d.]+) fps")
_AUDIO = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+).*?, (\d+) Hz, ([\w.()]+)")


def _probe_ffmpeg(path: Path) -> dict[str, Any]:
    """Read what `ffmpeg -i` prints; it exits 1 (no output named), which is expected."""
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    err = proc.stderr.decode("utf-8", "replace")
    if "Stream #" not in err:
        raise MediaError(f"cannot read {path}: {summarize_stderr(err)}")
    out: dict[str, Any] = {"duration": 0.0, "video": None, "audio": None, "format": None,
                           "size": path.stat().st_size, "bit_rate": None, "tags": {}}
    m = _DURATION.search(err)
    if m:
        out["duration"] = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    fm = re.search(r"Input #0, ([\w,]+), from", err)
    out["format"] = fm.group(1) if fm else None
    for line in err.splitlines():
        if out["video"] is None and ": Video: " in line and "attached pic" not in line:
            v = _VIDEO.search(line)
            if v:
                f = _FPS.search(line)
                out["video"] = {"codec": v.group(1), "pix_fmt": v.group(2), "width": int(v.group(3)),
                                "height": int(v.group(4)), "fps": float(f.group(1)) if f else None,
                                "duration": None, "frames": None}
        if out["audio"] is None and ": Audio: " in line:
            a = _AUDIO.search(line)
            if a:
                layout = a.group(3)
                channels = {"mono": 1, "stereo": 2}.get(layout.split("(")[0])
                out["audio"] = {"codec": a.group(1), "sample_rate": int(a.group(2)), "channels": channels,
                                "channel_layout": layout, "duration": None}
    if out["video"] is None and out["audio"] is None:
        raise MediaError(f"cannot read {path}: no audio or video stream")
    return out


# ----------------------------------------------------------------------------- validation

_IMAGE_CODECS = {"png", "mjpeg", "jpeg", "jpg", "webp", "bmp", "tiff", "gif", "jpegls", "png_pipe"}


def check_input(path: Path, kind: str) -> None:
    """Raise MediaError (naming the file) unless path is a readable, non-empty `kind` file.

    A plain PCM WAV whose header is whole is judged by that header alone (ffprobe would read
    the same and no more), without starting ffprobe: a keyless hour checks 24 of them while
    the mix's encoder shares the cores (about 95 ms of CPU each). Anything else, or a WAV
    whose header does not pass, goes through inspect(), whose errors say why.
    """
    if kind == "audio" and _plain_pcm_wav(Path(path)):
        return
    inspect(path, kind)


def _plain_pcm_wav(path: Path) -> bool:
    import struct  # noqa: PLC0415

    from . import wav  # noqa: PLC0415 - numpy-backed; only audio checks need it

    try:
        if path.suffix.lower() != ".wav" or not path.is_file():
            return False
        offset, length, channels, rate, bits = wav.data_offset(path)
        size = path.stat().st_size
    except (OSError, ValueError, struct.error):
        return False
    return (1 <= channels <= 8 and 8000 <= rate <= 384000 and bits in (16, 24, 32)
            and length > 0 and offset + length <= size)


def inspect(path: Path, kind: str) -> dict[str, Any]:
    """check_input() that also returns what probe() found, for callers that need both.

    kind is "image", "video" or "audio". Images and clips are small, so they are decoded in
    full (a truncated PNG still has a valid header); tracks can be an hour long, so those get
    a header check plus, for WAV, a size check against the header.
    """
    path = Path(path)
    if kind not in ("image", "video", "audio"):
        raise ValueError(f"unknown media kind {kind!r}")
    label = {"image": "image", "video": "video clip", "audio": "audio track"}[kind]
    if not path.exists():
        raise MediaError(f"{label} not found: {path}")
    if not path.is_file():
        raise MediaError(f"{label} is not a file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{label} is empty (0 bytes): {path}")
    try:
        info = probe(path)
    except MediaError as exc:
        raise MediaError(f"{label} is corrupt or not a media file: {path} ({_detail(exc, path)})") from None
    if _is_bmff(path):
        _check_boxes(path, label)
    if kind == "audio":
        a = info.get("audio")
        if not a:
            raise MediaError(f"{label} has no audio stream: {path}")
        if path.suffix.lower() == ".wav":
            _check_wav(path, label)
        elif not (info.get("duration") or 0) > 0:
            raise MediaError(f"{label} has no duration (truncated?): {path}")
        return info
    v = info.get("video")
    if not v or not v.get("width") or not v.get("height"):
        raise MediaError(f"{label} has no picture: {path}")
    if kind == "video" and not (info.get("duration") or 0) > 0:
        raise MediaError(f"{label} has no duration (truncated?): {path}")
    # Decode: damaged data behind a valid header shows up only here. An image is one frame;
    # for a clip the keyframes are enough (truncation is caught by the box check above) and
    # cost a tenth of a full decode.
    argv = ["-v", "error", "-xerror", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"]
    if kind == "video":
        argv = ["-v", "error", "-xerror", "-skip_frame", "nokey", "-i", str(path), "-map", "0:v:0",
                "-f", "null", "-"]
    try:
        err = run_sync(argv, timeout=120)
    except FFmpegError as exc:
        raise MediaError(f"{label} is corrupt: {path} ({summarize_stderr(exc.stderr, 160)})") from None
    if err.strip():
        raise MediaError(f"{label} is corrupt: {path} ({summarize_stderr(err, 160)})")
    return info


def _detail(exc: Exception, path: Path) -> str:
    text = str(exc)
    prefix = f"cannot read {path}: "
    text = text[len(prefix):] if text.startswith(prefix) else text
    return text.replace(str(path), Path(path).name)[:200]


def _check_wav(path: Path, label: str) -> None:
    """A WAV whose data chunk promises more bytes than the file holds was cut short."""
    import struct  # noqa: PLC0415

    from . import wav  # noqa: PLC0415 - numpy-backed; only audio checks need it

    try:
        offset, length, *_ = wav.data_offset(path)
    except (ValueError, struct.error):
        raise MediaError(f"{label} is not a valid WAV file: {path}") from None
    if length == 0:
        raise MediaError(f"{label} has no audio data: {path}")
    size = path.stat().st_size
    if offset + length > size and length != 0xFFFFFFFF:
        raise MediaError(f"{label} is truncated ({size} of {offset + length} bytes): {path}")


def _is_bmff(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(12)
    return len(head) == 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide")


def _check_boxes(path: Path, label: str) -> None:
    """MP4/M4A/MOV: the top-level boxes must tile the file exactly and include a moov.

    A download or render cut short leaves a last box that claims more bytes than exist.
    """
    import struct  # noqa: PLC0415

    size = path.stat().st_size
    pos, seen = 0, set()
    with open(path, "rb") as fh:
        while pos < size:
            fh.seek(pos)
            hdr = fh.read(16)
            if len(hdr) < 8:
                raise MediaError(f"{label} is truncated (partial box at byte {pos}): {path}")
            box_len, box_type = struct.unpack(">I", hdr[:4])[0], hdr[4:8]
            if box_len == 1 and len(hdr) == 16:
                box_len = struct.unpack(">Q", hdr[8:16])[0]
            elif box_len == 0:
                box_len = size - pos
            if box_len < 8 or pos + box_len > size:
                raise MediaError(f"{label} is truncated ({box_type.decode('latin-1')!r} box runs past the end): {path}")
            seen.add(box_type)
            pos += box_len
    if b"moov" not in seen:
        raise MediaError(f"{label} is incomplete (no moov box): {path}")

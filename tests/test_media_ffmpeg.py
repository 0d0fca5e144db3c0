"""The ffmpeg module: which binary runs, how failures read, progress, probing, input checks."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from media_helpers import make_clip, make_mix, run, tone_track
from runner.media import ffmpeg, png


def _fake_exe(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_lookup_prefers_the_FFMPEG_variable(tmp_path, monkeypatch):
    fake = _fake_exe(tmp_path / "my-ffmpeg")
    monkeypatch.setenv("FFMPEG", str(fake))
    assert ffmpeg.ffmpeg_exe() == str(fake)


def test_lookup_uses_PATH_when_FFMPEG_is_unset(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = _fake_exe(bindir / "ffmpeg")
    monkeypatch.delenv("FFMPEG", raising=False)
    monkeypatch.setenv("PATH", str(bindir))
    assert ffmpeg.ffmpeg_exe() == str(fake)


def test_lookup_falls_back_to_the_imageio_ffmpeg_binary(tmp_path, monkeypatch):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    monkeypatch.delenv("FFMPEG", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing here
    assert ffmpeg.ffmpeg_exe() == imageio_ffmpeg.get_ffmpeg_exe()
    # That build has no ffprobe beside it, so probing reads ffmpeg's own output.
    assert ffmpeg.ffprobe_exe() is None


def test_missing_ffmpeg_says_how_to_get_it(tmp_path, monkeypatch):
    import imageio_ffmpeg

    monkeypatch.delenv("FFMPEG", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: (_ for _ in ()).throw(RuntimeError("none")))
    with pytest.raises(ffmpeg.FFmpegMissing) as err:
        ffmpeg.ffmpeg_exe()
    text = str(err.value)
    assert "apt-get install ffmpeg" in text and "pip install imageio-ffmpeg" in text and "FFMPEG" in text


def test_a_bad_FFMPEG_variable_is_reported_not_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("FFMPEG", str(tmp_path / "nope"))
    with pytest.raises(ffmpeg.FFmpegMissing, match="FFMPEG is set"):
        ffmpeg.ffmpeg_exe()


def test_failures_carry_a_short_stderr_summary(tmp_path):
    with pytest.raises(ffmpeg.FFmpegError) as err:
        run(ffmpeg.run(["-v", "error", "-i", str(tmp_path / "missing.wav"), "-f", "null", "-"]))
    assert "missing.wav" in str(err.value)
    assert len(str(err.value)) < 600
    assert err.value.returncode not in (0, None)


def test_progress_is_reported_as_a_percentage(tmp_path):
    seen: list[float] = []
    run(ffmpeg.run(["-v", "error", "-f", "lavfi", "-i", "sine=duration=20:sample_rate=48000",
                    "-f", "null", "-"], duration_s=20, on_progress=seen.append))
    assert seen and seen[-1] == 100.0
    assert all(0 <= p <= 100 for p in seen)
    assert seen == sorted(seen)


def test_probe_reads_video_and_audio(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", 2, fps=30, size="320x240")
    info = ffmpeg.probe(clip)
    assert info["video"]["codec"] == "h264" and info["video"]["width"] == 320
    assert abs(info["duration"] - 2) < 0.1
    mix = make_mix(tmp_path / "m.m4a", 3)
    a = ffmpeg.probe(mix)["audio"]
    assert a["codec"] == "aac" and a["sample_rate"] == 48000 and a["channels"] == 2


def test_probe_works_without_ffprobe(tmp_path, monkeypatch):
    clip = make_clip(tmp_path / "c.mp4", 2, fps=30, size="320x240")
    monkeypatch.setattr(ffmpeg, "ffprobe_exe", lambda: None)
    info = ffmpeg.probe(clip)
    assert info["video"]["codec"] == "h264"
    assert info["video"]["width"] == 320 and info["video"]["height"] == 240
    assert abs(info["duration"] - 2) < 0.1


# ----------------------------------------------------------------------------- bad inputs

@pytest.fixture
def good_inputs(tmp_path):
    from runner.media import art

    import numpy as np

    picture = tmp_path / "ok.png"
    png.write_png(picture, np.zeros((64, 96, 3), np.uint8))
    return {"image": picture, "video": make_clip(tmp_path / "ok.mp4", 1, size="320x240"),
            "audio": tone_track(tmp_path / "ok.wav", 2)}


@pytest.mark.parametrize("kind", ["image", "video", "audio"])
def test_good_inputs_pass_the_check(good_inputs, kind):
    ffmpeg.check_input(good_inputs[kind], kind)


@pytest.mark.parametrize("kind,suffix", [("image", ".png"), ("video", ".mp4"), ("audio", ".wav"), ("audio", ".mp3")])
def test_a_zero_length_input_fails_naming_the_file(tmp_path, kind, suffix):
    bad = tmp_path / f"empty{suffix}"
    bad.write_bytes(b"")
    with pytest.raises(ffmpeg.MediaError) as err:
        ffmpeg.check_input(bad, kind)
    assert str(bad) in str(err.value) and "empty" in str(err.value)


@pytest.mark.parametrize("kind,suffix", [("image", ".png"), ("video", ".mp4"), ("audio", ".wav"), ("audio", ".mp3")])
def test_a_garbage_input_fails_naming_the_file(tmp_path, kind, suffix):
    bad = tmp_path / f"garbage{suffix}"
    bad.write_bytes(os.urandom(4096))
    with pytest.raises(ffmpeg.MediaError) as err:
        ffmpeg.check_input(bad, kind)
    assert str(bad) in str(err.value)


@pytest.mark.parametrize("kind", ["image", "video", "audio"])
def test_a_truncated_input_fails_naming_the_file(good_inputs, tmp_path, kind):
    src = good_inputs[kind]
    bad = tmp_path / f"cut{src.suffix}"
    data = src.read_bytes()
    bad.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ffmpeg.MediaError) as err:
        ffmpeg.check_input(bad, kind)
    assert str(bad) in str(err.value)


def test_a_missing_input_fails_naming_the_file(tmp_path):
    with pytest.raises(ffmpeg.MediaError, match="not found") as err:
        ffmpeg.check_input(tmp_path / "gone.png", "image")
    assert "gone.png" in str(err.value)


def test_an_audio_file_is_not_a_clip(good_inputs):
    with pytest.raises(ffmpeg.MediaError, match="no picture"):
        ffmpeg.check_input(good_inputs["audio"], "video")


def test_cancelling_a_run_kills_ffmpeg(tmp_path):
    import asyncio

    async def go():
        running = asyncio.Event()   # ffmpeg's first progress line: it is working
        task = asyncio.ensure_future(ffmpeg.run(["-v", "error", "-f", "lavfi", "-re", "-i", "sine=duration=30",
                                                 "-f", "null", "-"], duration_s=30, on_progress=lambda p: running.set()))
        await asyncio.wait_for(running.wait(), 20)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    before = _ffmpeg_children()
    run(go())
    assert _ffmpeg_children() <= before


def _ffmpeg_children() -> int:
    me = os.getpid()
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat_line = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat_line.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and "ffmpeg" in stat_line:
            count += 1
    return count


def test_the_imageio_binary_can_do_the_whole_job(tmp_path, monkeypatch):
    """pip install alone is enough: the wheel's ffmpeg probes, encodes and checks inputs."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    monkeypatch.setenv("FFMPEG", imageio_ffmpeg.get_ffmpeg_exe())
    assert ffmpeg.ffprobe_exe() is None
    mix = make_mix(tmp_path / "m.m4a", 2)
    ffmpeg.check_input(mix, "audio")
    info = ffmpeg.probe(mix)
    assert info["audio"]["sample_rate"] == 48000 and abs(info["duration"] - 2) < 0.1
    assert shutil.which("ffmpeg")  # the Debian one still exists; FFMPEG wins over it


def test_background_encoders_run_at_a_lower_cpu_priority(tmp_path):
    # An encoder nothing waits on (the loop, FLAC copies) must yield the CPU to the mix's encoder.
    async def niceness(background: bool) -> int:
        args = ["-y", "-v", "error", "-f", "s16le", "-ar", "48000", "-ac", "2", "-i", "pipe:0",
                "-c:a", "flac", str(tmp_path / f"{background}.flac")]
        async with ffmpeg.Pipe(args, background=background) as pipe:
            await pipe.write(bytes(4800))
            return os.getpriority(os.PRIO_PROCESS, pipe.proc.pid)

    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert run(niceness(False)) == ours
    assert run(niceness(True)) == min(19, ours + ffmpeg.BACKGROUND_NICE)


def test_feed_writes_every_chunk_in_order_from_numpy_or_bytes(tmp_path):
    # Frames bigger than a pipe-full, some the producer's own array reused for the next one.
    import numpy as np  # noqa: PLC0415

    frame = np.zeros((300, 400), np.uint8)
    expected = []

    def chunks():
        for k in range(6):
            frame[:] = k * 40
            expected.append(frame.tobytes())
            yield frame  # rewritten for the next frame: fed before it is
        expected.append(b"\x07" * frame.size)
        yield b"\x07" * frame.size

    out = tmp_path / "out.gray"

    async def go() -> None:
        args = ["-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "400x300", "-i", "pipe:0",
                "-f", "rawvideo", str(out)]
        async with ffmpeg.Pipe(args) as pipe:
            await pipe.feed(chunks())

    run(go())
    assert out.read_bytes() == b"".join(expected)


def test_feed_says_so_when_ffmpeg_stops_reading(tmp_path):
    async def go() -> None:
        # ffmpeg takes one frame and quits; the feed is far from done.
        args = ["-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "400x300", "-i", "pipe:0",
                "-frames:v", "1", "-f", "rawvideo", str(tmp_path / "one.gray")]
        async with ffmpeg.Pipe(args) as pipe:
            await pipe.feed(bytes(400 * 300) for _ in range(2000))

    with pytest.raises(ffmpeg.FFmpegError, match="stopped reading"):
        run(go())


def test_a_whole_pcm_wav_is_checked_by_its_header_without_a_probe(tmp_path, monkeypatch):
    good = tone_track(tmp_path / "good.wav", 2)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good.read_bytes()[:-1000])

    def no_probe(path: Path) -> dict:
        raise AssertionError(f"probed {path}")

    monkeypatch.setattr(ffmpeg, "probe", no_probe)
    ffmpeg.check_input(good, "audio")  # the header says it all
    with pytest.raises(AssertionError, match="probed"):  # a cut one goes the whole way
        ffmpeg.check_input(cut, "audio")

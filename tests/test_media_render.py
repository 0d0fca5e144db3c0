"""The final render: stream copy to the target length, verified, and never left half-made."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from media_helpers import (FFMPEG, ebur128, ffprobe, make_mix, moov_before_mdat, packets, run, stream,
                           tone_track)
from runner.media import ffmpeg, master, motion, render

REPO = Path(__file__).resolve().parent.parent


def make_loop(path: Path, seconds: float = 2.0, size: str = "1920x1080") -> Path:
    """A loop with the real encoder settings (one closed GOP, no B-frames, CFR)."""
    frames = int(seconds * motion.FPS)
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=s={size}:r={motion.FPS}:d={seconds}", *motion.encoder_args(motion.FPS, frames),
                    str(path)], check=True)
    return path


def long_mix(path: Path, seconds: int) -> Path:
    """A long AAC file made by repeating a short one by stream copy (encoding it would be slow)."""
    short = make_mix(path.with_name("short-" + path.name), 10)
    subprocess.run([FFMPEG, "-v", "error", "-y", "-stream_loop", str(seconds // 10 - 1), "-i", str(short),
                    "-c", "copy", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("render")
    loop = make_loop(d / "loop.mp4")
    tracks = [tone_track(d / "01.wav", 14, 220, -20, 1), tone_track(d / "02.wav", 14, 330, -12, 2)]
    plan = run(master.master_audio(tracks, None, 30.0, d / "mix.m4a"))
    return loop, plan["file"], d


@pytest.fixture(scope="module")
def final(inputs):
    loop, mix, d = inputs
    seen: list[float] = []
    meta = run(render.render_final(loop, mix, 30.0, d / "final.mp4", on_progress=seen.append))
    return meta, seen


def test_final_has_the_promised_streams(final):
    meta, _ = final
    info = ffprobe(meta["file"])
    v, a = stream(info, "video"), stream(info, "audio")
    assert (v["codec_name"], v["pix_fmt"], v["width"], v["height"]) == ("h264", "yuv420p", 1920, 1080)
    assert (a["codec_name"], int(a["sample_rate"]), a["channels"]) == ("aac", 48000, 2)


def test_final_has_a_constant_frame_rate(final):
    meta, _ = final
    v = stream(ffprobe(meta["file"]), "video")
    assert v["r_frame_rate"] == v["avg_frame_rate"] == f"{motion.FPS}/1"
    pk = packets(meta["file"])
    assert {round(float(p["duration_time"]), 6) for p in pk} == {round(1 / motion.FPS, 6)}
    pts = [round(float(p["pts_time"]) * motion.FPS) for p in pk]
    assert pts == list(range(len(pts))), "no dropped or repeated frames across the loop joins"


def test_final_lasts_the_target_and_streams_end_together(final):
    meta, _ = final
    info = ffprobe(meta["file"])
    v, a = stream(info, "video"), stream(info, "audio")
    assert abs(float(info["format"]["duration"]) - 30.0) <= 0.1
    assert float(v["start_time"]) == 0.0 and float(a["start_time"]) == 0.0
    assert abs(float(v["duration"]) - float(a["duration"])) < 0.040
    assert meta["seconds"] == pytest.approx(30.0, abs=0.1)
    assert meta["bytes"] == meta["file"].stat().st_size


def test_final_starts_with_moov_for_fast_start(final):
    meta, _ = final
    assert moov_before_mdat(meta["file"])


def test_final_loudness_is_minus_14_lufs_and_true_peak_under_minus_1(final):
    meta, _ = final
    i, tp = ebur128(meta["file"])
    assert abs(i + 14) <= 1.0 and tp <= -1.0


def test_render_reports_progress_and_leaves_no_temp_file(final, inputs):
    meta, seen = final
    _, _, d = inputs
    assert seen and seen[-1] == 100.0
    assert not render.temp_name(meta["file"]).exists()


def test_the_video_is_copied_not_re_encoded(final, inputs):
    loop, _, _ = inputs
    meta, _ = final
    one = [p["flags"] for p in packets(loop)]
    whole = [p["flags"] for p in packets(meta["file"])]
    keys = [i for i, f in enumerate(whole) if "K" in f]
    assert keys == list(range(0, len(whole), len(one)))


def test_the_audio_is_the_mix_bit_for_bit(final, inputs):
    _, mix, _ = inputs
    meta, _ = final
    md5 = lambda p: subprocess.run([FFMPEG, "-v", "error", "-i", str(p), "-map", "0:a", "-f", "md5", "-"],
                                   capture_output=True, text=True, check=True).stdout
    assert md5(meta["file"]) == md5(mix)


def test_a_loop_with_its_own_sound_track_renders_with_only_the_mix(inputs, tmp_path):
    """A clip with its own sound (a paid clip could have one) keeps its picture; the sound is the mix's."""
    _, mix, _ = inputs
    loop = tmp_path / "with-sound.mp4"
    frames = 2 * motion.FPS
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=640x360:r={motion.FPS}:d=2",
                    "-f", "lavfi", "-i", "sine=duration=2", "-map", "0:v", "-map", "1:a",
                    *motion.encoder_args(motion.FPS, frames)[:-1], "-c:a", "aac", str(loop)], check=True)
    meta = run(render.render_final(loop, mix, 12.0, tmp_path / "final.mp4"))
    info = ffprobe(meta["file"])
    assert [s["codec_type"] for s in info["streams"]] == ["video", "audio"]
    assert abs(float(info["format"]["duration"]) - 12.0) <= 0.1
    assert moov_before_mdat(meta["file"])


def test_an_odd_target_still_ends_both_streams_together(inputs, tmp_path):
    loop, mix, _ = inputs
    meta = run(render.render_final(loop, mix, 20.53, tmp_path / "final.mp4"))
    info = ffprobe(meta["file"])
    v, a = stream(info, "video"), stream(info, "audio")
    assert abs(float(info["format"]["duration"]) - 20.53) <= 0.1
    assert abs(float(v["duration"]) - float(a["duration"])) < 0.040


def test_a_mix_shorter_than_the_target_is_refused(inputs, tmp_path):
    loop, _, _ = inputs
    short = make_mix(tmp_path / "short.m4a", 5)
    with pytest.raises(ffmpeg.MediaError, match="shorter"):
        run(render.render_final(loop, short, 30.0, tmp_path / "final.mp4"))
    assert not (tmp_path / "final.mp4").exists()


def test_a_corrupt_loop_fails_naming_the_file(inputs, tmp_path):
    _, mix, _ = inputs
    bad = tmp_path / "loop.mp4"
    bad.write_bytes(os.urandom(10000))
    with pytest.raises(ffmpeg.MediaError) as err:
        run(render.render_final(bad, mix, 30.0, tmp_path / "final.mp4"))
    assert str(bad) in str(err.value)


def test_a_cancelled_render_leaves_nothing_behind(tmp_path):
    loop = make_loop(tmp_path / "loop.mp4", 1.0, size="320x240")
    mix = long_mix(tmp_path / "mix.m4a", 900)
    out = tmp_path / "final.mp4"

    async def go():
        task = asyncio.ensure_future(render.render_final(loop, mix, 900.0, out))
        while not render.temp_name(out).exists():
            await asyncio.sleep(0.01)
            if task.done():
                pytest.skip("render finished before it could be cancelled")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(go())
    assert not out.exists() and not render.temp_name(out).exists()


def test_a_killed_render_never_leaves_a_final_mp4(tmp_path):
    """SIGKILL gives no chance to clean up: only the hidden partial file may remain."""
    loop = make_loop(tmp_path / "loop.mp4", 1.0, size="320x240")
    mix = long_mix(tmp_path / "mix.m4a", 1800)
    out = tmp_path / "final.mp4"
    code = ("import asyncio, sys; from pathlib import Path; from runner.media import render; "
            f"asyncio.run(render.render_final(Path({str(loop)!r}), Path({str(mix)!r}), 1800.0, Path({str(out)!r})))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, start_new_session=True)
    try:
        deadline = time.time() + 30
        while not render.temp_name(out).exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.005)
        if proc.poll() is not None:
            pytest.skip("render finished before it could be killed")
        os.killpg(proc.pid, signal.SIGKILL)  # the runner and its ffmpeg, as a crash would
    finally:
        proc.wait()
    assert not out.exists()

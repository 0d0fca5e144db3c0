"""The motion loop: encoded once to a loopable spec, seamless, irregular, repeatable by stream copy."""

from __future__ import annotations

import re
import statistics
import subprocess

import numpy as np
import pytest

from media_helpers import (FFMPEG, ffprobe, make_clip, packets, run, ssim_frames, ssim_last_first, ssim_raw, stream,
                           variation)
from runner.media import art, ffmpeg, loop_events, motion, png

# A desk scene with open eyes (so it blinks), a mug (steam), rain and the lamp's breathing.
DESK = {"scene": "desk by the window", "view": "city", "time_of_day": "night", "pose": "gazing out the window",
        "mirrored": False, "weather": "rain"}


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    d = tmp_path_factory.mktemp("motion")
    out = d / "loop.mp4"
    seen: list[float] = []
    meta = run(motion.make_loop(art.build_scene(variation(5, "autumn", **DESK)), out, on_progress=seen.append))
    return out, meta, seen


def test_loop_is_h264_yuv420p_1080p_at_a_constant_frame_rate(loop):
    path, meta, _ = loop
    v = stream(ffprobe(path), "video")
    assert (v["codec_name"], v["pix_fmt"], v["width"], v["height"]) == ("h264", "yuv420p", 1920, 1080)
    assert v["r_frame_rate"] == v["avg_frame_rate"] == f"{motion.FPS}/1"
    assert int(v["nb_frames"]) == motion.FRAMES == meta["frames"]
    assert 16 <= meta["seconds"] <= 24
    # Constant frame rate: every packet lasts exactly one frame...
    durations = {round(float(p["duration_time"]), 6) for p in packets(path)}
    assert durations == {round(1 / motion.FPS, 6)}
    # ...and the stream says so itself (x264 force-cfr=1 sets the SPS's fixed_frame_rate_flag).
    err = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path), "-c:v", "copy", "-bsf:v", "trace_headers",
                          "-frames:v", "1", "-f", "null", "-"], capture_output=True, text=True).stderr
    assert re.findall(r"fixed_frame_rate_flag\s+\d+ = (\d)", err) == ["1"]


def test_loop_has_no_b_frames_and_one_closed_gop(loop):
    path, _, _ = loop
    v = stream(ffprobe(path), "video")
    assert v["has_b_frames"] == 0
    keys = [i for i, p in enumerate(packets(path)) if "K" in p["flags"]]
    assert keys == [0], "the only keyframe starts the loop, so every repeat starts on one"


@pytest.mark.parametrize("scene", ["desk by the window", "train window", "cabin in the woods"])
def test_last_frame_flows_into_the_first(scene, tmp_path):
    """The seam is as smooth as the loop's own steps: in the frames the loop is made of, SSIM of
    the last against the first is at least the median SSIM of neighbouring frames (sampled
    across the loop, blinks, flicks and passing lights included)."""
    b = motion.LoopBuilder(art.build_scene(variation(5, "autumn", **{**DESK, "scene": scene, "view": "forest"})))
    n = motion.FRAMES
    ssim = lambda i, j: ssim_raw(b.frame(i), b.frame(j), motion.W, motion.H, tmp_path)
    seam = ssim(n - 1, 0)
    neighbours = [ssim(i, i + 1) for i in range(5, n - 1, n // 16)]
    assert seam >= statistics.median(neighbours), (seam, neighbours)


def test_a_frame_is_the_same_whichever_frames_were_built_before_it():
    """The key light lives in the builder's base between its steps: building frames out of
    order (as the seam test does) must not change them."""
    b = motion.LoopBuilder(art.build_scene(variation(5, "autumn", **DESK)))
    first = [b.frame(i) for i in (0, 150, 151)]
    assert [b.frame(i) for i in (151, 0, 150)] == [first[2], first[0], first[1]]


def test_the_key_light_steps_by_at_most_lamp_step_and_holds_between():
    values = [0.0, 0.2, 0.5, 0.9, 1.2, 1.0, 0.1]
    assert motion.held(values, 1.0) == [0.0, 0.0, 0.0, 0.0, 1.2, 1.2, 0.1]
    b = motion.LoopBuilder(art.build_scene(variation(5, "autumn", **DESK)))
    peak = float(np.abs(b.lamp_y).max())
    steps = [abs(x - y) * peak for x, y in zip(b.lamp_f, b.lamp_f[1:] + b.lamp_f[:1]) if x != y]
    assert 10 < len(steps) < motion.FRAMES  # it moves, and holds in between
    # A held step never lags the light by a full step.
    assert all(abs(f - b.tl.flicker(i / motion.FRAMES)) * peak < motion.LAMP_STEP for i, f in enumerate(b.lamp_f))


def test_the_encoded_seam_stays_smooth(loop):
    """Encoded, the one keyframe costs the seam a little (x264 codes it afresh), never a jump."""
    path, _, _ = loop
    assert ssim_last_first(path, motion.FRAMES) >= 0.97


def test_the_loop_visibly_moves(loop):
    path, _, _ = loop
    # Halfway through, rain, glow and tail have all moved on.
    assert ssim_frames(path, 0, motion.FRAMES // 2) < 0.995


def test_progress_reaches_100(loop):
    _, _, seen = loop
    assert seen and seen[-1] == 100.0


def test_the_loop_repeats_by_stream_copy(loop, tmp_path):
    path, _, _ = loop
    out = tmp_path / "thrice.mp4"
    subprocess.run([FFMPEG, "-v", "error", "-stream_loop", "2", "-i", str(path), "-c:v", "copy", str(out)], check=True)
    info = ffprobe(out)
    v = stream(info, "video")
    assert int(v["nb_frames"]) == 3 * motion.FRAMES
    assert abs(float(info["format"]["duration"]) - 3 * motion.LOOP_SECONDS) < 0.05
    # The repeats decode cleanly, one keyframe per loop.
    keys = [i for i, p in enumerate(packets(out)) if "K" in p["flags"]]
    assert keys == [0, motion.FRAMES, 2 * motion.FRAMES]
    err = subprocess.run([FFMPEG, "-v", "error", "-i", str(out), "-f", "null", "-"], capture_output=True, text=True).stderr
    assert err.strip() == ""


def test_snow_loops_too(tmp_path):
    """A shorter snowy loop (same code path, fewer frames) keeps its seam."""
    out = tmp_path / "snow.mp4"
    frames = 48
    scene = art.build_scene(variation(9, "winter", **{**DESK, "pose": "reading a paperback", "weather": "snow"}))
    run(motion.make_loop(scene, out, frames=frames))
    assert ssim_last_first(out, frames) >= 0.97


def test_the_loop_breathes_irregularly():
    """Two or three blinks with gaps that differ, and tail flicks and steam that are not on a
    fixed clock: the loop's events come from its seed, not from a metronome."""
    scene = art.build_scene(variation(5, "autumn", **DESK))
    tl = motion.LoopBuilder(scene).tl
    assert 2 <= len(tl.blinks) <= 3
    starts = sorted(tl.blinks)
    gaps = [b - a for a, b in zip(starts, starts[1:])] + [starts[0] + motion.FRAMES - starts[-1]]
    assert max(gaps) > 1.3 * min(gaps), f"blinks evenly spaced: {starts}"
    assert min(gaps) >= 2 * motion.FPS, "blinks at least two seconds apart"
    assert len(tl.flicks) == 2 and tl.swing(0.0) == 0.0
    assert tl.puffs and all(len(p) >= 3 for p in tl.puffs), "the mug steams in puffs"
    # Another seed, another rhythm.
    other = motion.LoopBuilder(art.build_scene(variation(6, "autumn", **DESK))).tl
    assert other.blinks != tl.blinks


def test_a_blink_spans_the_seam_so_the_keyframe_never_shows_on_open_eyes():
    """The loop's one keyframe re-sharpens whatever it covers; the eyes are mid-blink there, so
    the change hides inside the blink instead of showing as eyes that sharpen every repeat."""
    scene = art.build_scene(variation(5, "autumn", **DESK))
    b = motion.LoopBuilder(scene)
    x0, y0, x1, y1 = scene.blink.box
    n = motion.FRAMES
    eyes = lambda i: np.frombuffer(b.frame(i), np.uint8)[:motion.W * motion.H].reshape(motion.H, motion.W)[y0:y1, x0:x1]
    open_eyes = eyes(n // 2 + 7).astype(np.int16)
    if b.tl.blink_patch(n // 2 + 7) is not None:
        open_eyes = eyes(n // 2 - 11).astype(np.int16)
    for i in (n - 1, 0):
        assert b.tl.blink_patch(i) is not None
        assert np.abs(eyes(i).astype(np.int16) - open_eyes).mean() > 2, f"frame {i} shows the eyes shut"
    assert b.tl.blink_patch(n - 1) == b.tl.blink_patch(0) == loop_events.BLINK[1], "shut on both sides of the seam"


def test_a_paid_clip_is_crossfaded_into_a_loop(tmp_path):
    clip = make_clip(tmp_path / "paid.mp4", 5, fps=30, size="1280x720")
    out = tmp_path / "loop.mp4"
    meta = run(motion.loop_from_clip(clip, out))
    info = ffprobe(out)
    v = stream(info, "video")
    assert (v["codec_name"], v["pix_fmt"], v["width"], v["height"]) == ("h264", "yuv420p", 1920, 1080)
    assert v["r_frame_rate"] == f"{motion.FPS}/1" and v["has_b_frames"] == 0
    assert int(v["nb_frames"]) == meta["frames"] == 5 * motion.FPS - motion.FPS  # 1 s crossfade
    keys = [i for i, p in enumerate(packets(out)) if "K" in p["flags"]]
    assert keys == [0]
    # The seam is as smooth as any neighbouring pair of frames in the middle.
    seam = ssim_last_first(out, meta["frames"])
    inner = ssim_frames(out, meta["frames"] // 2, meta["frames"] // 2 + 1)
    assert seam >= inner - 0.02


def test_a_corrupt_clip_fails_naming_the_file(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 5000)
    with pytest.raises(ffmpeg.MediaError) as err:
        run(motion.loop_from_clip(bad, tmp_path / "out.mp4"))
    assert str(bad) in str(err.value)
    assert not (tmp_path / "out.mp4").exists()


def test_any_image_gets_a_loop(tmp_path):
    import numpy as np

    picture = tmp_path / "paid.png"
    yy, xx = np.mgrid[0:720, 0:1280]
    img = np.stack([40 + 60 * xx / 1280, 30 + 50 * yy / 720, 80 + 40 * np.sin(xx / 90.0)], axis=2)
    png.write_png(picture, img.astype(np.uint8))
    out = tmp_path / "loop.mp4"
    meta = run(motion.loop_from_image(picture, out, weather="rain"))
    assert meta["frames"] == motion.FRAMES
    assert ssim_last_first(out, motion.FRAMES) >= 0.97

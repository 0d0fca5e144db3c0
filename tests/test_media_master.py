"""Mix and master: the playlist plan, loudness, true peak, exact length, bad tracks."""

from __future__ import annotations

import asyncio
import subprocess

import numpy as np
import pytest

from media_helpers import FFMPEG, decode_audio, ebur128, ffprobe, run, stream, tone_track
from runner.media import ambience, ffmpeg, loudness, master

R = master.RATE


def _check_cover(segs, total):
    assert segs[0].start == 0
    assert segs[-1].start + segs[-1].length == total
    for a, b in zip(segs, segs[1:]):
        assert b.start <= a.start + a.length, "no gaps between tracks"
        assert b.start > a.start


def test_plan_plays_tracks_in_order_with_short_crossfades():
    segs = master.plan_segments([100 * R] * 3, 250 * R, 4 * R)
    assert [s.track for s in segs] == [0, 1, 2]
    assert [s.start / R for s in segs] == [0, 96, 192]
    assert segs[1].fade_in == 4 * R and segs[0].fade_out == 4 * R
    _check_cover(segs, 250 * R)


def test_short_tracks_repeat_in_order_to_fill_the_target():
    segs = master.plan_segments([60 * R, 70 * R], 400 * R, 4 * R)
    assert [s.track for s in segs][:5] == [0, 1, 0, 1, 0]
    _check_cover(segs, 400 * R)


def test_the_runner_default_fills_the_hour_with_each_track_once():
    """Tracks of target/N plus one crossfade: each track once, the last cut at the target."""
    n, total = 10, 3600 * R
    segs = master.plan_segments([(360 + 4) * R] * n, total, 4 * R)
    assert [s.track for s in segs] == list(range(n))
    assert [s.start / R for s in segs] == [360.0 * k for k in range(n)]
    _check_cover(segs, total)


def test_a_short_repeated_scrap_at_the_end_is_absorbed_by_tighter_crossfades():
    segs = master.plan_segments([100 * R] * 5, 490 * R, 4 * R)
    assert [s.track for s in segs] == [0, 1, 2, 3, 4]
    _check_cover(segs, 490 * R)
    assert all(s.fade_in >= R // 2 for s in segs[1:])


def test_a_playlist_heard_once_ends_with_its_last_track_however_short():
    """--minutes auto: the target is the playlist heard once, and every track keeps its
    place, the last one included, even when it is shorter than MIN_LAST_SEGMENT_S."""
    durations = [20 * R, 22 * R, 20 * R, 21 * R, 20 * R, 14 * R]
    total = master.playlist_samples(durations, 4 * R)
    segs = master.plan_segments(durations, total, 4 * R)
    assert [s.track for s in segs] == [0, 1, 2, 3, 4, 5]
    assert [s.length for s in segs] == durations
    _check_cover(segs, total)
    assert total == sum(durations) - 5 * (4 * R)


def test_a_playlist_of_short_tracks_overlaps_by_a_third_at_most():
    durations = [6 * R, 9 * R]
    assert master.playlist_samples(durations, 4 * R) == 15 * R - 2 * R


def test_the_meter_agrees_with_ffmpeg(tmp_path):
    path = tone_track(tmp_path / "t.wav", 12, level_db=-23)
    x = decode_audio(path)
    mine = loudness.integrated(loudness.block_energy(x))
    theirs, _ = ebur128(path)
    assert abs(mine - theirs) < 0.15


def test_the_limiter_holds_its_ceiling_and_moves_smoothly():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((R * 3, 2)) * 0.1).astype(np.float32)
    x[R:R + 50] = 1.5  # a loud click
    lim = master.Limiter(-2.0)
    m = lim.margin()
    ext = np.concatenate([np.zeros((m, 2), np.float32), x, np.zeros((m + 64, 2), np.float32)])
    n = len(x) // master.BLOCK * master.BLOCK
    g = lim.gains(ext[:m + n + m], n)
    assert g is not None
    y = x[:n] * g[:, None]
    assert np.abs(y).max() <= 10 ** (-2 / 20) + 1e-6
    assert np.abs(np.diff(g)).max() < 0.02
    assert g[: R - 2000].min() == pytest.approx(1.0)  # untouched well before the click
    # Quiet audio with the last reduction released: nothing to do, no gains computed.
    assert master.Limiter(-2.0).gains(ext[:m + n + m] * 0.1, n) is None


@pytest.fixture(scope="module")
def mastered(tmp_path_factory):
    d = tmp_path_factory.mktemp("master")
    tracks = [tone_track(d / "01.wav", 20, 196, -32, 1), tone_track(d / "02.wav", 20, 262, -16, 2),
              tone_track(d / "03.wav", 20, 330, -8, 3)]
    bed = ambience.render_ambience("rain", d / "ambience.wav", seed=2, seconds=8)["file"]
    seen: list[float] = []
    plan = run(master.master_audio(tracks, bed, 50.0, d / "mix.m4a", on_progress=seen.append))
    return plan, seen, d


def test_the_mix_is_minus_14_lufs_with_true_peak_under_minus_1(mastered):
    plan, _, _ = mastered
    i, tp = ebur128(plan["file"])
    assert abs(i - (-14)) <= 1.0
    assert tp <= -1.0
    # The plan reports what ffmpeg measures.
    assert abs(plan["integrated_lufs"] - i) < 0.3
    assert abs(plan["true_peak_dbtp"] - tp) < 0.3


def test_the_mix_lasts_exactly_the_target(mastered):
    plan, _, _ = mastered
    a = stream(ffprobe(plan["file"]), "audio")
    assert (a["codec_name"], int(a["sample_rate"]), a["channels"]) == ("aac", 48000, 2)
    # The container says exactly the target (its edit list trims the encoder's padding);
    # a decoder that ignores the trim at the end gets at most one AAC frame more.
    assert float(a["duration"]) == pytest.approx(50.0, abs=1e-6)
    assert 50 * R <= len(decode_audio(plan["file"])) < 50 * R + 1024


def test_the_plan_lists_every_segment_with_real_times(mastered):
    plan, _, _ = mastered
    segs = plan["segments"]
    assert [s["track"] for s in segs] == [1, 2, 3]
    assert segs[0]["start"] == 0 and segs[-1]["end"] == 50.0
    assert segs[1]["start"] == 16.0 and segs[2]["start"] == 32.0


def test_quiet_and_loud_tracks_come_out_equally_loud(mastered):
    plan, _, _ = mastered
    x = decode_audio(plan["file"])
    levels = [loudness.integrated(loudness.block_energy(x[int(s["start"] + 5) * R:int(s["end"] - 5) * R]))
              for s in plan["segments"]]
    assert max(levels) - min(levels) < 1.5, levels


def test_mastering_reports_progress(mastered):
    _, seen, _ = mastered
    assert seen and seen == sorted(seen) and seen[-1] >= 90


def test_compressed_tracks_and_no_ambience(tmp_path):
    """Paid tracks arrive as MP3/AAC; they are decoded once and mastered the same way."""
    src = tone_track(tmp_path / "src.wav", 15, level_db=-12)
    m4a = tmp_path / "paid.m4a"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(src), "-c:a", "aac", "-b:a", "128k", str(m4a)], check=True)
    plan = run(master.master_audio([m4a], None, 24.0, tmp_path / "mix.m4a"))
    assert [s["track"] for s in plan["segments"]] == [1, 1]
    i, tp = ebur128(plan["file"])
    assert abs(i + 14) <= 1 and tp <= -1
    assert not list(tmp_path.glob(".master-*")), "scratch files are cleaned up"


@pytest.mark.parametrize("content", [b"", b"RIFF\x10\x00\x00\x00WAVEjunkjunk", b"\xff\xfb" + bytes(3000)],
                         ids=["empty", "broken-wav-header", "broken-mp3"])
def test_a_corrupt_or_empty_track_fails_naming_the_file(tmp_path, content):
    good = tone_track(tmp_path / "01.wav", 5)
    bad = tmp_path / "02.mp3"
    bad.write_bytes(content)
    with pytest.raises(ffmpeg.MediaError) as err:
        run(master.master_audio([good, bad], None, 8.0, tmp_path / "mix.m4a"))
    assert str(bad) in str(err.value)
    assert not (tmp_path / "mix.m4a").exists()


def test_the_stream_encodes_before_the_last_track_exists(tmp_path):
    """MixStream starts the one AAC encode at once: with three tracks planned and only the
    first two made, the encoder has already passed the first track before the third is added."""
    paths = [tone_track(tmp_path / f"{k:02d}.wav", 20, 180 + 40 * k, -20 - 4 * k, k) for k in range(3)]
    seen: list[float] = []

    async def go():
        async with master.MixStream([20 * R] * 3, 52.0, tmp_path / "mix.m4a", on_progress=seen.append) as stream:
            await stream.add(0, paths[0])
            await stream.add(1, master.TrackIn(paths[1]))
            for _ in range(400):
                if seen and seen[-1] >= 25:
                    break
                await asyncio.sleep(0.02)
            reached = seen[-1] if seen else 0.0
            await stream.add(2, paths[2])
            return reached, await stream.finish()

    reached, plan = run(go())
    assert reached >= 25, "the encoder waited for every track"
    assert [s["track"] for s in plan["segments"]] == [1, 2, 3]
    i, tp = ebur128(plan["file"])
    assert abs(i + 14) <= 1 and tp <= -1
    assert max(plan["track_lufs"]) - min(plan["track_lufs"]) > 6  # each was brought to the target on its own


def test_a_failed_stream_leaves_no_mix_and_no_scratch(tmp_path):
    track = tone_track(tmp_path / "01.wav", 10)

    async def go():
        async with master.MixStream([10 * R, 10 * R], 18.0, tmp_path / "mix.m4a") as stream:
            await stream.add(0, track)
            raise RuntimeError("track 2 failed")

    with pytest.raises(RuntimeError, match="track 2 failed"):
        run(go())
    assert not (tmp_path / "mix.m4a").exists()
    assert not list(tmp_path.glob(".master-*")) and not list(tmp_path.glob(".mix*"))

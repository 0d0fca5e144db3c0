"""--loop: a person's clip, copied when it already fits the render, else encoded once, and made
seamless (tail crossfaded into head) when its ends do not meet."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
from helpers import run_cli
from media_helpers import FFMPEG, decode_rgb, packets, run, variation
from own_helpers import clip

from runner import store
from runner.media import clip as own_clip, motion


SMALL = "scale=480:270:flags=area"


def _ssim(path: Path, a: tuple[int, int], b: tuple[int, int]) -> list[float]:
    """SSIM (all planes, at 480x270) of frames a[0]..a[1]-1 against b[0]..b[1]-1, measured here."""
    graph = (f"[0:v]trim=start_frame={a[0]}:end_frame={a[1]},setpts=PTS-STARTPTS,{SMALL}[a];"
             f"[1:v]trim=start_frame={b[0]}:end_frame={b[1]},setpts=PTS-STARTPTS,{SMALL}[b];[a][b]ssim=stats_file=-")
    out = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-i", str(path), "-filter_complex", graph,
                          "-f", "null", "-"], capture_output=True, text=True, check=True).stdout
    return [float(v) for v in re.findall(r"All:([\d.]+)", out)]


def _seam(path: Path, frames: int) -> float:
    return _ssim(path, (frames - 1, frames), (0, 1))[0]


def _target(path: Path, frames: int) -> float:
    """The seam target as docs/format.md states it: 1 - SSIM of the seam at most twice the
    median of the neighbouring pairs', or 0.005."""
    pairs = sorted(_ssim(path, (0, frames - 1), (1, frames)))
    return 1 - max(2 * (1 - pairs[len(pairs) // 2]), 0.005)


def _video_md5(path: Path) -> str:
    out = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "md5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


def test_a_clip_whose_ends_do_not_meet_is_made_seamless_and_the_run_says_so(root):
    (root / "library").mkdir()
    src = clip(root / "library" / "drift.mp4", seamless=False)
    frames = 96
    assert _seam(src, frames) < _target(src, frames)  # the fixture really jumps
    out = run_cli("run", "--theme", "my loop", "--loop", "library/drift.mp4", "--minutes", "0.4", "--tracks", "2",
                  "--no-upload", root=root, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ends did not meet" in out.stdout and "now fade into its first" in out.stdout
    sid = out.stdout.splitlines()[0]
    folder = store.session_dir(root, sid)
    state = store.read_state(root, sid)
    loop = folder / "loop.mp4"
    made = own_clip.facts(loop)
    # One encode to the render's format: H.264 yuv420p 1080p, constant rate, one closed GOP.
    assert own_clip.problems(made) == [] and made.frames == frames - 24  # 1 s crossfaded away
    # The seam now meets the target, measured here.
    assert _seam(loop, made.frames) >= _target(loop, made.frames)
    origin = state["steps"]["motion"]["outputs"]["origin"]
    assert origin["method"] == "made seamless" and origin["path"] == "library/drift.mp4"
    # No --artwork: the cover is the loop's first frame, fitted.
    assert state["steps"]["artwork"]["outputs"]["provider"] == "own"
    first = decode_rgb(src, 1920, 1080).astype(int)
    cover = decode_rgb(folder / "artwork.png", 1920, 1080).astype(int)
    assert abs(first - cover).mean() < 6
    # The render still repeats loop.mp4 by stream copy: a keyframe at every repeat.
    keys = [float(p["pts_time"]) for p in packets(folder / "final.mp4") if "K" in p["flags"]]
    assert keys[:3] == [0.0, made.seconds, 2 * made.seconds]
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["loop"]["source"] == "file" and prov["loop"]["method"] == "made seamless"
    assert prov["loop"]["seam_ssim"] >= prov["loop"]["seam_target"]
    assert prov["artwork"]["path"] == "library/drift.mp4"


def test_a_clip_that_already_fits_is_stream_copied_not_encoded(tmp_path):
    src = clip(tmp_path / "ready.mp4", seamless=True)
    made = run(own_clip.make_loop(src, tmp_path / "loop.mp4"))
    assert made["method"] == "stream copy" and made["reasons"] == []
    assert _video_md5(tmp_path / "loop.mp4") == _video_md5(src)  # the same packets, byte for byte


def test_a_loop_the_runner_made_counts_as_seamless(tmp_path):
    """The runner's own loops are seamless by construction; their one keyframe is coded unlike
    the frames after it, which the seam measure must not take for a jump."""
    run(motion.make_local_loop(variation(7), tmp_path / "ours.mp4"))
    made = run(own_clip.make_loop(tmp_path / "ours.mp4", tmp_path / "loop.mp4"))
    assert made["method"] == "stream copy", made


def test_a_clip_in_another_format_is_encoded_once_to_the_renders(tmp_path):
    src = clip(tmp_path / "phone.webm", seamless=True, size="1280x720", fps=30, conforming=False)
    made = run(own_clip.make_loop(src, tmp_path / "loop.mp4", fit="contain"))
    assert made["method"] == "re-encoded"
    assert any("vp9" in r for r in made["reasons"]) and any("1280x720" in r for r in made["reasons"])
    facts = own_clip.facts(tmp_path / "loop.mp4")
    assert own_clip.problems(facts) == [] and facts.fps == 30 and facts.frames == 120
    # 16:9 into 16:9 under contain: scaled up, no bars.
    img = decode_rgb(tmp_path / "loop.mp4", 1920, 1080)
    assert img[540, 2].max() > 40


def test_a_clip_a_display_matrix_turns_is_encoded_upright_not_copied_on_its_side(tmp_path):
    """A phone's clip may be stored 1920x1080 with a matrix that shows it 1080x1920. Copied, the
    matrix would ride into the render and turn the whole video; it is encoded as shown instead."""
    plain = clip(tmp_path / "plain.mp4", seamless=True, seconds=2, fps=12)
    turned = tmp_path / "turned.mp4"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(plain), "-c", "copy", "-metadata:s:v", "rotate=90",
                    str(turned)], check=True)
    assert own_clip.facts(turned).rotation % 360 and own_clip.problems(own_clip.facts(plain)) == []
    made = run(own_clip.make_loop(turned, tmp_path / "loop.mp4"))
    assert made["method"] == "re-encoded" and any("rotation" in r for r in made["reasons"]), made
    assert own_clip.facts(tmp_path / "loop.mp4").rotation == 0
    # What ffmpeg shows of the clip (turned by its matrix), covered to 1920x1080, is the loop's
    # first frame; the clip as stored is not.
    def first(args: list[str]) -> np.ndarray:
        raw = subprocess.run([FFMPEG, "-v", "error", *args, "-frames:v", "1", "-vf",
                              f"{own_clip.fit_filter('cover')},format=rgb24", "-f", "rawvideo", "-"],
                             capture_output=True, check=True).stdout
        return np.frombuffer(raw, np.uint8).reshape(1080, 1920, 3).astype(int)
    loop = decode_rgb(tmp_path / "loop.mp4", 1920, 1080).astype(int)
    assert np.abs(loop - first(["-i", str(turned)])).mean() < 6
    assert np.abs(loop - first(["-noautorotate", "-i", str(turned)])).mean() > 20

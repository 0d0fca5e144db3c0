"""--artwork: a person's picture, covered (or contained) and centred to 1920x1080, never stretched;
its thumbnail under YouTube's 2 MB; the motion made from it (local, and fal's image-to-video)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from fakes.fal import APPS
from fakes.fixtures import fal_fake, loopback_only  # noqa: F401 - fixtures
from fakes.harness import paid_env, runner, session_id
from helpers import run_cli
from media_helpers import FFMPEG, decode_rgb, ffprobe, run, stream
from own_helpers import ff, picture as make_picture

from runner import library, store
from runner.media import art, motion, picture

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _bands(path: Path, w: int, h: int) -> Path:
    """A picture in three horizontal bands, red over green over blue: where a crop or a pad
    went shows in which colours reach the frame's edges."""
    third = h // 3
    ff("-f", "lavfi", "-i", f"color=c=red:s={w}x{third}", "-f", "lavfi", "-i", f"color=c=0x00ff00:s={w}x{third}",
       "-f", "lavfi", "-i", f"color=c=blue:s={w}x{h - 2 * third}", "-filter_complex", "[0][1][2]vstack=inputs=3",
       "-frames:v", "1", "-q:v", "2", str(path))
    return path


def _near(pixel: np.ndarray, colour: tuple[int, int, int], tol: int = 40) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - colour) <= tol))


def test_a_portrait_jpeg_is_covered_and_centred_and_moves(root):
    (root / "library").mkdir()
    src = _bands(root / "library" / "portrait.jpg", 1080, 1920)
    out = run_cli("run", "--theme", "my picture", "--artwork", "library/portrait.jpg", "--minutes", "0.4",
                  "--tracks", "2", "--no-upload", root=root, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    sid = out.stdout.splitlines()[0]
    folder = store.session_dir(root, sid)
    state = store.read_state(root, sid)
    assert state["status"] == "completed"

    # Covered: 1920 wide, so only the middle (green) band shows, edge to edge; nothing stretched
    # (a stretched picture would show all three bands).
    cover = decode_rgb(folder / "artwork.png", 1920, 1080)
    for y, x in [(5, 5), (5, 1914), (540, 960), (1074, 5), (1074, 1914)]:
        assert _near(cover[y, x], GREEN), (y, x, cover[y, x])

    # The thumbnail: 1280x720 JPEG, under YouTube's 2 MB.
    thumb = stream(ffprobe(folder / "thumbnail.jpg"), "video")
    assert (thumb["width"], thumb["height"]) == (1280, 720)
    assert (folder / "thumbnail.jpg").stat().st_size < art.THUMB_MAX_BYTES

    # The motion is made from that picture: the loop's first frame is the green cover under weather.
    first = decode_rgb(folder / "loop.mp4", 1920, 1080)
    assert np.median(first[..., 1]) > 200 and np.median(first[..., 0]) < 60
    assert state["steps"]["motion"]["outputs"]["provider"] == "local"

    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["artwork"] == {"source": "file", "path": "library/portrait.jpg",
                               "sha256": library.sha256_of(src), "fit": "cover"}
    assert prov["loop"]["source"] == "generated" and prov["loop"]["provider"] == "local"
    meta = json.loads((folder / "metadata.json").read_text())
    assert "porsuk" not in meta["description"] and "porsuk" not in meta["tags"]
    assert "the artwork is the channel's own" in meta["description"]


def test_contain_letterboxes_instead_of_cropping(tmp_path):
    src = _bands(tmp_path / "portrait.jpg", 1080, 1920)
    run(picture.fit_picture(src, tmp_path / "contained.png", fit="contain"))
    img = decode_rgb(tmp_path / "contained.png", 1920, 1080)
    # 1080x1920 fits 1080 high as 608 wide, centred: black at the sides, all three bands inside.
    assert _near(img[540, 10], (0, 0, 0), 8) and _near(img[540, 1909], (0, 0, 0), 8)
    assert _near(img[20, 960], RED) and _near(img[540, 960], GREEN) and _near(img[1060, 960], BLUE)
    inside = np.where(img[540].max(axis=1) > 40)[0]
    assert abs((inside[0] + inside[-1]) / 2 - 960) <= 2 and abs(len(inside) - 608) <= 4


def test_a_wide_picture_is_cropped_at_its_sides_not_squeezed(tmp_path):
    ff("-f", "lavfi", "-i", "color=c=red:s=800x720", "-f", "lavfi", "-i", "color=c=0x00ff00:s=1600x720",
       "-f", "lavfi", "-i", "color=c=blue:s=800x720", "-filter_complex", "[0][1][2]hstack=inputs=3",
       "-frames:v", "1", str(tmp_path / "wide.png"))
    run(picture.fit_picture(tmp_path / "wide.png", tmp_path / "cover.png", fit="cover"))
    img = decode_rgb(tmp_path / "cover.png", 1920, 1080)
    # 3200x720 covers 1080 high as 4800 wide; the middle 1920 are all green.
    assert _near(img[540, 3], GREEN) and _near(img[540, 1916], GREEN)


def test_fal_makes_the_video_from_the_persons_picture_and_paints_nothing(root, tmp_path, fal_fake):
    (root / "library").mkdir()
    _bands(root / "library" / "portrait.jpg", 1080, 1920)
    env = paid_env(tmp_path, fal=fal_fake)
    out = runner("run", "--theme", "my picture", "--provider", "fal", "--artwork", "library/portrait.jpg",
                 "--minutes", "0.4", "--tracks", "2", "--no-upload", root=root, env=env, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    sid = session_id(out.stdout)
    folder = store.session_dir(root, sid)
    assert fal_fake.submits(APPS["image"]) == []  # no cover was bought
    [sent] = fal_fake.submits(APPS["video"])
    # The image Kling animated is the cover made from the person's picture, byte for byte.
    assert fal_fake.uploads == [(folder / "artwork.png").read_bytes()]
    state = store.read_state(root, sid)
    assert state["cost"]["by_asset"]["image"] == 0 and state["cost"]["by_asset"]["video"] > 0

    # provenance.json of a paid run: fal's request ids and the prompts sent, the file's hash.
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["artwork"]["source"] == "file"
    assert prov["artwork"]["sha256"] == hashlib.sha256((root / "library" / "portrait.jpg").read_bytes()).hexdigest()
    loop = prov["loop"]
    assert loop["source"] == "generated" and loop["provider"] == "fal" and loop["model"] == APPS["video"]
    assert fal_fake.jobs[loop["request_id"]]["app"] == APPS["video"] and loop["prompt"] == sent["prompt"]
    assert {t["request_id"] for t in prov["tracks"]} == {
        rid for rid, job in fal_fake.jobs.items() if job["app"] == APPS["music"]}
    assert all(t["prompt"] and t["source"] == "generated" for t in prov["tracks"])


def _grey(path: Path, n: int) -> np.ndarray:
    import subprocess

    raw = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-vf", f"select=eq(n\\,{n})", "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(1080, 1920).astype(np.float32)


def test_the_local_loop_pans_over_a_persons_picture_and_ends_where_it_began(tmp_path):
    """A subtle parallax: the view wanders PAN_PX over the picture (the weather, here none,
    would stay put), one closed turn per loop."""
    src = make_picture(tmp_path / "pattern.png", 1920, 1080)
    meta = run(motion.loop_from_image(src, tmp_path / "loop.mp4", weather="clear", seed=1))
    n, p = meta["frames"], motion.PAN_PX
    first, quarter, last = _grey(tmp_path / "loop.mp4", 0), _grey(tmp_path / "loop.mp4", n // 4), \
        _grey(tmp_path / "loop.mp4", n - 1)
    # A quarter of the way round the view has moved p px to the right: the picture p px left.
    moved = {s: float(np.abs(first[100:-100, 40 + s:-40 + s] - quarter[100:-100, 40:-40]).mean()) for s in (0, p)}
    assert moved[p] < 0.5 * moved[0], moved
    # And the last frame is one small step from the first (the loop closes).
    assert float(np.abs(first - last).mean()) < 0.5 * moved[0]

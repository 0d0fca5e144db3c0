"""--music: a person's own tracks, mastered and chaptered like made ones, and nothing paid."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers import params, run_cli
from media_helpers import FFMPEG, decode_audio, ebur128
from own_helpers import FIVE, five_tracks, track

from runner import budget, library, metadata, store
from runner.media import master
from runner.providers import local, registry


def _session(root: Path, out: subprocess.CompletedProcess[str]) -> tuple[str, store.State]:
    assert out.returncode == 0, out.stdout + out.stderr
    sid = out.stdout.splitlines()[0]
    state = store.read_state(root, sid)
    assert state is not None and state["status"] == "completed", state
    return sid, state


def _lufs_between(path: Path, start: float, end: float) -> float:
    err = subprocess.run([FFMPEG, "-hide_banner", "-nostats", "-ss", f"{start:.3f}", "-t", f"{end - start:.3f}",
                          "-i", str(path), "-map", "0:a:0", "-af", "ebur128", "-f", "null", "-"],
                         capture_output=True, text=True).stderr
    import re

    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", err)[-1])


def test_five_tagged_files_in_three_formats_make_the_whole_video(root):
    album = root / "library" / "album"
    five_tracks(album)
    out = run_cli("run", "--theme", "my tapes", "--music", "library/album", "--minutes", "auto",
                  "--atmosphere", "none", "--no-upload", "--license-note", "licensed from Ada Reed", root=root,
                  timeout=600)
    sid, state = _session(root, out)
    folder = store.session_dir(root, sid)
    music = state["steps"]["music"]["outputs"]

    # Order: natural order of the names (1, 2, 3, 10, 11), not the bytes' order.
    assert [t["source"] for t in music["tracks"]] == [f"library/album/{t['name']}" for t in FIVE]
    # Titles from the tags, else from the name without its number; artists only from tags.
    assert [t["title"] for t in music["tracks"]] == ["Dawn Chorus", "Dusk", "Ember", "harbour lights", "Lantern"]
    assert [t["artist"] for t in music["tracks"]] == ["Ada Reed", "Ada Reed", None, None, "Bo Lind"]

    # The real lengths, measured here, place every boundary; --minutes auto is the playlist once.
    real = [len(decode_audio(album / t["name"])) for t in FIVE]
    xf = int(master.CROSSFADE_S * master.RATE)
    starts = [sum(real[:k]) - k * xf for k in range(5)]
    assert [s["track"] for s in music["segments"]] == [1, 2, 3, 4, 5]
    assert [s["start"] for s in music["segments"]] == pytest.approx([s / master.RATE for s in starts], abs=0.01)
    video_s = (sum(real) - 4 * xf) / master.RATE
    assert state["steps"]["render"]["outputs"]["seconds"] == pytest.approx(video_s, abs=0.05)
    assert state["params"]["minutes"] * 60 == pytest.approx(video_s, abs=0.001) and state["params"]["tracks"] == 5

    # Chapters at those boundaries, the names as written, and credits where tags name an artist.
    meta = json.loads((folder / "metadata.json").read_text())
    assert metadata.problems(meta, video_s) == []
    assert metadata.chapter_times(meta["description"]) == [int(s / master.RATE) if k else 0
                                                           for k, s in enumerate(starts)]
    for line in ("0:00 Dawn Chorus", "Dusk", "Ember", "harbour lights", "Lantern"):
        assert line in meta["description"]
    credits = meta["description"].split("\nmusic\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert credits == ["Dawn Chorus \u2014 Ada Reed", "Dusk \u2014 Ada Reed", "Lantern \u2014 Bo Lind"]
    assert "the music is the channel's own" in meta["description"]

    # Loudness: the whole at -14 LUFS, and each track matched to it (their sources lie 21 LU apart).
    final = folder / "final.mp4"
    integrated, true_peak = ebur128(final)
    assert abs(integrated + 14) <= 1 and true_peak <= -1.0
    for s in music["segments"]:
        assert abs(_lufs_between(final, s["start"] + 4.5, s["end"] - 4.5) + 14) <= 1, s

    # Nothing paid, nothing asked of a music provider: no music or ambience call at all.
    assert state["cost"]["spent_usd"] == 0
    lines = [json.loads(l) for l in (folder / "ledger.jsonl").read_text().splitlines()]
    assert all(l["usd"] == 0 for l in lines)
    assert not [l for l in lines if l["step"] == "music"]

    # Where each track came from, with the note given.
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["license_note"] == "licensed from Ada Reed"
    assert [(t["source"], t["path"], t["sha256"]) for t in prov["tracks"]] == [
        ("file", f"library/album/{t['name']}", library.sha256_of(album / t["name"])) for t in FIVE]
    shown = run_cli("show", sid, root=root).stdout
    assert f"track 5   file library/album/11 lantern.flac  sha256 {prov['tracks'][4]['sha256']}" in shown
    assert "licence   licensed from Ada Reed" in shown


def test_tracks_repeat_in_order_to_fill_the_minutes_asked(root):
    album = root / "library" / "two"
    album.mkdir(parents=True)
    track(album / "b.wav", 12, freq=330, level_db=-14)
    track(album / "a.flac", 13, freq=220, level_db=-20)
    (root / "library" / "two.m3u").write_text("#EXTM3U\n#EXTINF:12,b\ntwo/b.wav\n\ntwo/a.flac\n")
    out = run_cli("run", "--theme", "loops", "--music", "library/two.m3u", "--minutes", "0.75",
                  "--atmosphere", "rain", "--no-upload", root=root, timeout=600)
    sid, state = _session(root, out)
    music = state["steps"]["music"]["outputs"]
    # The playlist's order (b, then a), round and round until 45 s are filled.
    assert [t["source"] for t in music["tracks"]] == ["library/two/b.wav", "library/two/a.flac"]
    assert [s["track"] for s in music["segments"]][:4] == [1, 2, 1, 2]
    assert music["segments"][-1]["end"] == pytest.approx(45.0)
    # The bed under a person's music is the local one: the music step pays nothing.
    assert music["ambience_origin"]["provider"] == "local"
    assert state["cost"]["spent_usd"] == 0


def test_the_bed_under_a_persons_music_is_never_paid_for(tmp_path):
    keyed = {"ELEVENLABS_API_KEY": "sk-test"}
    ours = params(music="library/album", atmosphere="rain", tracks=None)
    assert isinstance(registry.build(ours, keyed).ambience, local.LocalAmbience)
    assert budget.estimate(ours, elevenlabs=True)["by_asset"]["ambience"] == 0
    made = params(atmosphere="rain")
    assert budget.estimate(made, elevenlabs=True)["by_asset"]["ambience"] > 0


def test_a_playlist_keeps_its_order_and_a_folder_reads_in_natural_order(tmp_path):
    for name in ("track 10.mp3", "Track 2.mp3", "track 1.flac", ".hidden.mp3", "cover.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in library.playlist_files(tmp_path)] == ["track 1.flac", "Track 2.mp3", "track 10.mp3"]
    pl = tmp_path / "list.txt"
    pl.write_text("# my order\ntrack 10.mp3\n" + f"file://{tmp_path}/track%201.flac\n")
    assert library.playlist_files(pl) == [tmp_path / "track 10.mp3", tmp_path / "track 1.flac"]
    (tmp_path / "web.m3u").write_text("https://example.com/a.mp3\n")
    with pytest.raises(library.BadInput, match="is an address"):
        library.playlist_files(tmp_path / "web.m3u")


@pytest.mark.parametrize("name,title", [("03 - Night Bus.mp3", "Night Bus"), ("7. slow_tide.flac", "slow tide"),
                                        ("2049.wav", "2049"), ("12 .ogg", "12")])
def test_a_title_from_a_file_name_drops_its_track_number(name, title):
    assert library.title_from_name(name) == title


def test_minutes_auto_needs_music_and_music_takes_no_track_count():
    with pytest.raises(store.InvalidParams, match="minutes auto needs --music"):
        params(minutes="auto", tracks=None)
    with pytest.raises(store.InvalidParams, match="tracks cannot be chosen with --music"):
        params(music="library/album", tracks=3)
    assert params(music="library/album", minutes="auto", tracks=None)["minutes"] == "auto"

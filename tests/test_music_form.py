"""Songs, not loops, heard from the audio (issue 14): each track has two or more chord
progressions, drops where the drums fall out, the length it was asked for, and the key and
tempo it names; the ambience bed never repeats a 30 s stretch within ten minutes.

Everything here is measured on rendered audio with tests/music_analysis.py, which knows
nothing of how the track was made beyond the tempo it claims (to cut it into bars; the tempo
itself is checked independently). Each detector is also shown failing on a loop.
"""

from __future__ import annotations

import numpy as np
import pytest

import music_analysis as A
from media_helpers import decode_audio
from runner import store
from runner.media import ambience, music
from runner.steps import music as music_step

SECONDS = 150.0
SPECS = [
    {"index": 1, "seed": 4242, "key": "Eb", "mode": "minor", "bpm": 78},
    {"index": 2, "seed": 99, "key": "A", "mode": "dorian", "bpm": 88},
    {"index": 3, "seed": 7, "key": "F", "mode": "major", "bpm": 72,
     "instruments": {"keys": "felt piano", "lead": "flute", "bass": "upright", "kit": "brushed"}},
]


@pytest.fixture(scope="module")
def tracks(tmp_path_factory):
    d = tmp_path_factory.mktemp("songs")
    out = []
    for spec in SPECS:
        meta = music.render_track(spec, SECONDS, d / f"{spec['index']:02d}.wav")
        out.append((spec, meta, decode_audio(meta["file"])))
    return out


def _bars(spec, x):
    return A.bars(x, spec["bpm"], music.LEAD_IN_S)


def _progressions(spec, x):
    labels = A.chord_labels([A.chroma(b, bass_weight=2.0) for b in _bars(spec, x)])
    return A.progressions(labels)


def _drops(spec, x):
    """Bars in the middle of the track where the drums are out, with drums before and after."""
    drums = np.array([A.band_energy(b, 7000, 12000) for b in _bars(spec, x)])
    level = drums / np.median(drums)
    n = len(level)
    return [i for i in range(int(0.2 * n), int(0.85 * n))
            if level[i] < 0.5 and (level[:i] > 0.8).any() and (level[i + 1:] > 0.8).any()]


@pytest.mark.parametrize("k", range(len(SPECS)))
def test_a_track_has_two_progressions_a_drop_and_its_length(tracks, k):
    spec, meta, x = tracks[k]
    assert len(x) == int(SECONDS * A.RATE)
    found = _progressions(spec, x)
    assert len(found) >= 2, f"one progression looped: {found} ({meta['form']})"
    assert _drops(spec, x), f"the drums never drop out mid-track ({meta['form']})"


def test_a_looped_phrase_shows_one_progression_and_no_drop(tracks):
    """The detectors can fail: four bars of the A section, looped for the same length."""
    spec, meta, x = tracks[0]
    bar = int(round(4 * 60.0 / spec["bpm"] * A.RATE))
    a_section = music.LEAD_IN_S * A.RATE + int(meta["form"][0].split(":")[1]) * bar
    phrase = x[int(a_section) + 4 * bar:int(a_section) + 8 * bar]
    loop = np.tile(phrase, (len(x) // len(phrase) + 1, 1))[:len(x)]
    loop = np.concatenate([x[:int(music.LEAD_IN_S * A.RATE)], loop])[:len(x)]
    assert len(_progressions(spec, loop)) <= 1
    assert not _drops(spec, loop)


@pytest.mark.parametrize("k", range(len(SPECS)))
def test_the_key_and_tempo_a_track_names_are_the_ones_it_is_in(tracks, k):
    spec, meta, x = tracks[k]
    assert meta["bpm"] == spec["bpm"] and meta["key"] == spec["key"]
    assert A.tempo(x) == pytest.approx(spec["bpm"], rel=0.01)
    tonic, mode = A.key(x)
    assert music.KEY_PC[tonic] == music.KEY_PC[spec["key"]], (tonic, mode)
    assert mode == ("major" if spec["mode"] == "major" else "minor")  # dorian is a minor mode


def test_the_sections_and_the_voices_vary_between_tracks(tracks):
    forms = {tuple(meta["progressions"][0]) for _, meta, _ in tracks}
    assert len(forms) == len(tracks)
    assert tracks[2][1]["chords"] == "felt piano" and tracks[2][1]["kit"] == "brushed"
    for _, meta, _ in tracks:
        names = [f.split(":")[0] for f in meta["form"]]
        assert names[0] == "intro" and names[-1] == "outro"
        assert {"a", "b", "break", "a2"} <= set(names)


def test_an_hour_on_auto_is_songs_of_two_to_three_minutes():
    params = store.validate_params({"theme": "x", "minutes": 60})
    lengths = [music_step.track_seconds(params, i) for i in range(1, params["tracks"] + 1)]
    assert len(lengths) == 24 and all(120 <= s <= 184 for s in lengths)
    # Each track's share of the video (its chapter) adds up to the hour exactly.
    shares = [s - music_step.CROSSFADE_PAD_S for s in lengths[:-1]] + [lengths[-1]]
    assert sum(shares) == pytest.approx(3600.0)


@pytest.mark.parametrize("atmosphere", ambience.ATMOSPHERES)
def test_the_ambience_never_repeats_30_s_within_ten_minutes(tmp_path, atmosphere):
    r = ambience.render_ambience(atmosphere, tmp_path / "bed.wav", seed=11, seconds=630)
    x = decode_audio(r["file"])
    assert A.worst_repeat(x) < 0.5
    if atmosphere == "rain":
        # The detector catches what the bed used to be: a 40 s loop heard again and again.
        looped = np.tile(x[:40 * A.RATE], (16, 1))
        assert A.worst_repeat(looped) > 0.9

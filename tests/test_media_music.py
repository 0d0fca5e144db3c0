"""Procedural lofi tracks and ambience beds: format, determinism, variety, levels.

The song form, the truthfulness of key and tempo, and the ambience's non-repetition are
checked from the audio in tests/test_music_form.py."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from media_helpers import decode_audio, ebur128, ffprobe, stream
from runner.media import ambience, music

SPEC = {"index": 1, "seed": 4242, "key": "Eb", "mode": "minor", "bpm": 78, "mood": "cozy", "title": "ink"}


@pytest.fixture(scope="module")
def tracks(tmp_path_factory):
    d = tmp_path_factory.mktemp("music")
    out = {}
    for name, spec in {
        "a": SPEC,
        "a_again": SPEC,
        "b": {**SPEC, "index": 2, "seed": 99, "key": "A", "mode": "dorian", "bpm": 88},
    }.items():
        out[name] = music.render_track(spec, 30.0, d / f"{name}.wav")
    return out


def test_tracks_are_stereo_48k_and_exactly_as_long_as_asked(tracks):
    info = ffprobe(tracks["a"]["file"])
    a = stream(info, "audio")
    assert (int(a["sample_rate"]), a["channels"]) == (48000, 2)
    assert int(a["duration_ts"]) == 30 * 48000


def test_the_same_seed_makes_the_same_track(tracks):
    digest = lambda r: hashlib.sha256(r["file"].read_bytes()).hexdigest()
    assert digest(tracks["a"]) == digest(tracks["a_again"])


def test_tracks_differ_in_key_tempo_progression_and_instruments(tracks):
    a, b = tracks["a"], tracks["b"]
    assert a["bpm"] != b["bpm"] and a["key"] != b["key"]
    assert a["progressions"] != b["progressions"]
    assert (a["chords"], a["lead"]) != (b["chords"], b["lead"])
    x, y = decode_audio(a["file"]), decode_audio(b["file"])
    n = min(len(x), len(y))
    corr = np.corrcoef(x[:n, 0], y[:n, 0])[0, 1]
    assert abs(corr) < 0.2


def test_neighbouring_tracks_never_share_their_chord_instrument():
    insts = [music.TrackDesigner({**SPEC, "index": i}, 10).chord_inst for i in range(1, 11)]
    assert all(a != b for a, b in zip(insts, insts[1:]))


def test_tempo_and_harmony_follow_the_spec():
    d = music.TrackDesigner(SPEC, 60)
    assert d.bpm == 78 and d.mode == "minor"
    assert 70 <= d.bpm <= 90
    # Every chord is a seventh chord (or richer) built on the key; the home progression starts
    # on the tonic, and the second progression differs from it.
    assert all(len(music.QUALITIES[q]) >= 4 for prog in d.progs for _, q in prog)
    assert all(len(v) >= 3 for vs in d.voicings for v in vs)
    assert d.key == music.KEY_PC["Eb"] and d.progs[0][0][0] == 0 and d.progs[0] != d.progs[1]


def test_the_spec_chooses_the_voices():
    voices = {"keys": "vibes", "lead": "flute", "bass": "sub", "kit": "brushed"}
    d = music.TrackDesigner({**SPEC, "instruments": voices}, 30)
    assert (d.chord_inst, d.lead_inst, d.bass_inst, d.kit_name) == ("vibes", "flute", "sub", "brushed")
    # A name the synthesiser does not know falls back to the default for the track's place.
    assert music.TrackDesigner({**SPEC, "instruments": {"keys": "theremin"}}, 30).chord_inst in music.KEYS_VOICES


def test_swing_pushes_the_off_beats_late():
    d = music.TrackDesigner(SPEC, 60)
    assert 0.52 < d.swing < 0.7


def test_levels_leave_room_and_sound_full(tracks):
    i, tp = ebur128(tracks["a"]["file"])
    assert -20 < i < -10
    assert tp < -1.0
    x = decode_audio(tracks["a"]["file"])
    assert np.abs(x).max() < 0.95  # no clipping


def test_the_spectrum_is_warm(tracks):
    """Bass and mids carry the track; the top end is rolled off (the low-pass warmth)."""
    x = decode_audio(tracks["a"]["file"]).mean(axis=1)[48000 * 12:48000 * 28]
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / 48000)
    band = lambda lo, hi: spec[(f >= lo) & (f < hi)].sum()
    assert band(40, 250) > band(4000, 8000) * 10
    assert band(250, 2000) > band(8000, 20000) * 30
    assert band(40, 120) > 0  # there is a bass line and a kick


def test_tracks_fade_in_and_out(tracks):
    x = decode_audio(tracks["a"]["file"])
    rms = lambda seg: float(np.sqrt(np.mean(seg ** 2)))
    assert rms(x[:480]) < rms(x[48000 * 10:48000 * 11]) / 10
    assert rms(x[-480:]) < rms(x[48000 * 10:48000 * 11]) / 10


@pytest.mark.parametrize("atmosphere", ambience.ATMOSPHERES)
def test_each_ambience_bed_is_as_long_as_asked_and_sits_low(tmp_path, atmosphere):
    r = ambience.render_ambience(atmosphere, tmp_path / f"{atmosphere}.wav", seed=3, seconds=12)
    x = decode_audio(r["file"])
    assert len(x) == 12 * 48000
    # The bed is not silence, nor too loud to sit under music.
    level = np.sqrt(np.mean(x ** 2))
    assert 10 ** (-30 / 20) < level < 10 ** (-12 / 20)


def test_the_ambiences_sound_different(tmp_path):
    spectra = {}
    for a in ambience.ATMOSPHERES:
        x = decode_audio(ambience.render_ambience(a, tmp_path / f"{a}.wav", seed=1, seconds=8)["file"]).mean(axis=1)
        s = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / 48000)
        edges = [0, 200, 800, 2500, 6000, 24000]
        v = np.array([s[(f >= lo) & (f < hi)].sum() for lo, hi in zip(edges, edges[1:])])
        spectra[a] = v / v.sum()
    names = list(spectra)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            assert np.abs(spectra[names[i]] - spectra[names[j]]).sum() > 0.1, (names[i], names[j])


def test_an_unknown_atmosphere_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown atmosphere"):
        ambience.render_ambience("none", tmp_path / "x.wav")

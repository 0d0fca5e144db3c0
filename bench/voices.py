"""Benchmark: our synthesised voices against General MIDI SoundFonts through tinysoundfont (not a test).

    python bench/voices.py [--out DIR]

Renders the same phrase (four bars of seventh chords in the keys voice, a bass line and a
melody, 80 BPM, 12 s) with runner/media/voices.py and, where installed, with tinysoundfont
(PyPI, MIT) playing FluidR3_GM (Debian fluid-soundfont-gm, MIT) and MuseScore_General_Lite
(Debian musescore-general-soundfont-small, MIT). Each font is loaded in a fresh process, so
its load time and the memory it adds are its own. Prints, per voice set: font load time,
the process's peak RSS after loading, render time per second of audio; writes a WAV and a
spectrogram PNG (ffmpeg's showspectrumpic) of each phrase to --out. docs/voices.md holds the
figures and the decision.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FONTS = {
    "FluidR3_GM": "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "MuseScore_General_Lite": "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
}
# General MIDI programs (0-based) for the same roles: Electric Piano 1, Fingered Bass, Flute.
GM = {"keys": 4, "bass": 33, "lead": 73}

# The phrase: (beat, beats, MIDI notes) for the keys; bass and lead as (beat, beats, note).
PHRASE = {
    "keys": [(0, 3.8, (62, 65, 69, 72)), (4, 3.8, (62, 65, 67, 71)), (8, 3.8, (60, 64, 67, 71)), (12, 3.8, (60, 64, 69, 71))],
    "bass": [(0, 1.5, 38), (1.5, 1, 45), (4, 1.5, 43), (5.5, 1, 50), (8, 1.5, 36), (9.5, 1, 43), (12, 1.5, 45), (13.5, 1, 40)],
    "lead": [(1, 1, 74), (2, 0.5, 76), (2.5, 1.5, 72), (5, 1, 71), (6, 2, 69), (9, 1, 72), (10, 1, 74), (12, 3, 76)],
}
BPM = 80.0
SECONDS = 12.0

SNIPPET = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from runner.media import wav
phrase, bpm, seconds, out = json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
font, programs = sys.argv[6], json.loads(sys.argv[7])
beat = 60.0 / bpm
rate = 48000
n = int(seconds * rate)
t0 = time.perf_counter()
if font == "synth":
    from runner.media import voices
    rng = np.random.default_rng(1)
    load_s = 0.0
    t0 = time.perf_counter()
    mix = np.zeros((n, 2), np.float32)
    def add(x, at, g):
        a = int(at * beat * rate)
        k = min(len(x), n - a)
        mix[a:a + k] += (x[:k] * g)[:, None]
    for b, d, notes in phrase["keys"]:
        for m in notes:
            add(voices.chord_voice("rhodes", m, d * beat, 0.3, rng), b, 1.0)
    for b, d, m in phrase["bass"]:
        add(voices.bass_note("electric", m, d * beat, 0.5), b, 1.0)
    for b, d, m in phrase["lead"]:
        add(voices.lead_note("flute", m, d * beat, 0.3, rng), b, 1.0)
else:
    import tinysoundfont
    synth = tinysoundfont.Synth(samplerate=rate)
    sfid = synth.sfload(font)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for ch, role in enumerate(("keys", "bass", "lead")):
        synth.program_select(ch, sfid, 0, programs[role])
    events = []
    for b, d, notes in phrase["keys"]:
        for m in notes:
            events += [(b, 0, m, 80), (b + d, 0, m, 0)]
    for b, d, m in phrase["bass"]:
        events += [(b, 1, m, 100), (b + d, 1, m, 0)]
    for b, d, m in phrase["lead"]:
        events += [(b, 2, m, 90), (b + d, 2, m, 0)]
    events.sort()
    parts, pos = [], 0
    for b, ch, m, vel in events:
        at = int(b * beat * rate)
        if at > pos:
            parts.append(np.frombuffer(synth.generate(at - pos), np.float32).reshape(-1, 2))
            pos = at
        if vel:
            synth.noteon(ch, m, vel)
        else:
            synth.noteoff(ch, m)
    parts.append(np.frombuffer(synth.generate(n - pos), np.float32).reshape(-1, 2))
    mix = np.concatenate(parts)[:n].copy()
render_s = time.perf_counter() - t0
mix *= 0.5 / (np.abs(mix).max() + 1e-9)
wav.write(out, mix)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"load_s": load_s, "render_s": render_s, "peak_mb": peak_mb}))
"""


def measure(name: str, font: str, out: Path) -> dict[str, float]:
    wav_path = out / f"voices-{name}.wav"
    done = subprocess.run([sys.executable, "-c", SNIPPET, str(REPO), json.dumps(PHRASE), str(BPM), str(SECONDS),
                           str(wav_path), font, json.dumps(GM)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed: {done.stderr[-600:]}")
    r = json.loads(done.stdout.strip().splitlines()[-1])
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-i", str(wav_path), "-lavfi",
                    "showspectrumpic=s=640x240:legend=1:scale=log:fscale=log:start=30:stop=16000",
                    str(out / f"voices-{name}.png")], check=True)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help="folder for the WAVs and spectrograms (default: a temp folder)")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-voices-"))
    out.mkdir(parents=True, exist_ok=True)
    sets = {"synth": "synth"}
    try:
        import tinysoundfont  # noqa: F401
        sets.update({k: v for k, v in FONTS.items() if os.path.exists(v)})
    except ImportError:
        print("tinysoundfont is not installed: only our own voices are measured")
    for name, font in sets.items():
        r = measure(name, font, out)
        print(f"{name:24s} load {r['load_s']:5.2f} s, peak RSS {r['peak_mb']:5.0f} MB, "
              f"render {r['render_s'] / SECONDS * 1000:6.1f} ms per second of audio")
    print(f"WAVs and spectrograms in {out}")


if __name__ == "__main__":
    main()

"""Render a contact sheet of twelve covers: twelve themes, seasons and atmospheres.

    python tools/contact_sheet.py [--out docs/contact-sheet.png] [--cols 4]

Draws the variations of runner/media/gallery.py's SHEET one after another, as a channel
would (each sees the ones before it, so a scene shown twice is mirrored the second time),
paints each cover with the local painter, and writes the covers and the sheet into a new
temporary folder, whose path it prints with the closest pair's perceptual-hash distance.
--out also copies the sheet there (the README's docs/contact-sheet.png is made this way).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner import variation  # noqa: E402
from runner.media import art, gallery, png  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="also write the sheet to this PNG")
    ap.add_argument("--cols", type=int, default=4)
    args = ap.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="contact-sheet-"))
    earlier: list[dict] = []
    covers, hashes = [], []
    for i, (theme, season, atmosphere) in enumerate(gallery.SHEET):
        t0 = time.perf_counter()
        v = variation.draw({"theme": theme, "season": season, "atmosphere": atmosphere, "tracks": 1}, 1000 + i, earlier)
        earlier.append(v)
        scene = art.build_scene(v)
        png.write_png(folder / f"{i + 1:02d}.png", scene.still)
        covers.append(scene.still)
        hashes.append(gallery.phash(scene.still))
        print(f"{i + 1:2d}. {theme!r} ({season}, {atmosphere}): {variation.describe(v)} [{time.perf_counter() - t0:.1f} s]")
        del scene
    sheet = folder / "contact-sheet.png"
    png.write_png(sheet, gallery.contact_sheet(covers, cols=args.cols, thumb_w=384), level=9)
    closest = min(gallery.distance(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1:])
    print(f"closest pair: {closest} bits of 64 apart (threshold: more than {gallery.PHASH_MIN_DISTANCE})")
    print(f"covers and sheet: {folder}")
    if args.out is not None:
        shutil.copyfile(sheet, args.out)
        print(f"sheet copied to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

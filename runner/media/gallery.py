"""Contact sheets of covers and the perceptual hash that tells covers apart.

`contact_sheet` lays covers out in a grid of thumbnails (the README shows one, made by
tools/contact_sheet.py). `phash` is the DCT perceptual hash of Zauner (2010), "Implementation
and benchmarking of perceptual image hash functions": the picture in grey at 32x32, its 2-D
DCT, and one bit per low-frequency coefficient (the top-left 8x8 but the DC term) above their
median. Two pictures a person would call the same differ in a few bits; unrelated pictures
in about 32 of 64.
"""

from __future__ import annotations

import math

import numpy as np

# Covers of the twelve SHEET runs differ pairwise by more than this many bits of the 64-bit
# phash (tests/test_scenes.py). A picture shifted a few pixels, re-graded or noised stays
# within about 6 bits of itself (same test); unrelated pictures land near 32.
PHASH_MIN_DISTANCE = 12


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(math.pi * (2 * x + 1) * k / (2 * n)) * math.sqrt(2 / n)
    m[0] /= math.sqrt(2)
    return m.astype(np.float64)


_DCT32 = _dct_matrix(32)


def _grey_32(rgb: np.ndarray) -> np.ndarray:
    """Mean-pool an (h, w, 3) image to 32x32 luma (box filter: no aliasing from a 1080p cover)."""
    h, w = rgb.shape[:2]
    grey = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    ys = np.linspace(0, h, 33).astype(int)
    xs = np.linspace(0, w, 33).astype(int)
    rows = np.add.reduceat(grey, ys[:-1], axis=0) / np.diff(ys)[:, None]
    return np.add.reduceat(rows, xs[:-1], axis=1) / np.diff(xs)[None, :]


def phash(rgb: np.ndarray) -> int:
    """The 64-bit DCT perceptual hash of an (h, w, 3) image (uint8 or float in any range)."""
    d = _DCT32 @ _grey_32(rgb) @ _DCT32.T
    low = d[:8, :8].flatten()[1:]  # drop the DC term: overall brightness is not the picture
    bits = low > np.median(low)
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def distance(a: int, b: int) -> int:
    """Hamming distance between two hashes, in bits."""
    return bin(a ^ b).count("1")


def contact_sheet(images: list[np.ndarray], cols: int = 4, thumb_w: int = 480, gap: int = 12,
                  background: tuple[int, int, int] = (18, 16, 24)) -> np.ndarray:
    """Images ((H, W, 3) uint8, all 16:9) as a grid of thumb_w-wide thumbnails, uint8 RGB."""
    if not images:
        raise ValueError("no images for a contact sheet")
    h, w = images[0].shape[:2]
    f = max(1, w // thumb_w)
    th, tw = h // f, w // f
    rows = math.ceil(len(images) / cols)
    sheet = np.empty((rows * th + (rows + 1) * gap, cols * tw + (cols + 1) * gap, 3), np.uint8)
    sheet[:] = background
    for i, img in enumerate(images):
        small = img[:th * f, :tw * f].reshape(th, f, tw, f, 3).mean(axis=(1, 3))
        r, c = divmod(i, cols)
        y, x = gap + r * (th + gap), gap + c * (tw + gap)
        sheet[y:y + th, x:x + tw] = np.clip(small + 0.5, 0, 255).astype(np.uint8)
    return sheet


# Twelve (theme, season, atmosphere) runs for the contact sheet and the test that no two of
# their covers look alike: every scene, time of day, season and atmosphere appears, and two
# themes name nothing in the vocabulary.
SHEET: tuple[tuple[str, str, str], ...] = (
    ("rainy night in the city", "autumn", "rain"),
    ("sunny afternoon cafe", "summer", "cafe"),
    ("forest dawn", "spring", "forest"),
    ("snowy cabin by the fire", "winter", "fireplace"),
    ("night train", "summer", "none"),
    ("beach house at golden hour", "summer", "none"),
    ("library study session", "autumn", "rain"),
    ("vinyl and late night tea", "winter", "none"),
    ("rooftop sunset", "spring", "none"),
    ("morning coffee", "winter", "cafe"),
    ("deep focus", "autumn", "forest"),
    ("lofi beats to relax to", "spring", "fireplace"),
)

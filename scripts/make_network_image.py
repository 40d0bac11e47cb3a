"""Draw the picture the whole-network scenarios are fed: ``scenarios/data/house.png``.

A 192×256 (H×W) RGB scene drawn with NumPy alone, nothing random and nothing downloaded: a sky
that brightens towards the horizon, a sun, a green hill, a red house with a dark roof, a door
and two windows. Flat colours and smooth gradients keep the PNG a few kilobytes. It is not
square and not 224×224 on purpose: the scenarios resize its shorter side and crop the middle,
as torchvision's transforms do.

Run from the repository root::

    python scripts/make_network_image.py

The output is the same bytes on every run with the same Pillow and zlib.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "scenarios" / "data" / "house.png"
H, W = 192, 256


def draw() -> np.ndarray:
    """The scene as (H, W, 3) uint8."""
    y, x = np.mgrid[0:H, 0:W]
    img = np.zeros((H, W, 3), np.float64)
    t = y / H  # sky: deep blue at the top, pale near the horizon
    img[...] = np.stack([70 + 120 * t, 130 + 90 * t, 230 + 20 * t], axis=-1)
    sun = (x - 200) ** 2 + (y - 40) ** 2 <= 18**2
    img[sun] = (255, 220, 90)
    hill = y >= 130 + 18 * np.cos((x - 60) / 70.0)
    img[hill] = np.stack([60 + 0 * y, 150 - 0.3 * (y - 130), 60 + 0 * y], axis=-1)[hill]
    house = (x >= 70) & (x < 150) & (y >= 100) & (y < 160)
    img[house] = (190, 50, 40)
    roof = (y >= 60) & (y < 100) & (np.abs(x - 110) <= (y - 60) * 1.15)
    img[roof] = (70, 40, 35)
    door = (x >= 100) & (x < 120) & (y >= 125) & (y < 160)
    img[door] = (90, 55, 30)
    for left in (78, 128):
        window = (x >= left) & (x < left + 14) & (y >= 110) & (y < 124)
        img[window] = (250, 240, 170)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def main() -> None:
    Image.fromarray(draw(), "RGB").save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()

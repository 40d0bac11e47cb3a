"""Show pictures of coloured shapes and their captions, as the captioner is trained on them.

Nothing is written: the training pictures are drawn from seeds by
``scripts/train_captioner.py`` itself. This prints a few of them in the terminal, two pixels
per character (the upper half block ▀ with 24-bit colours), to look at the data::

    python scripts/make_shapes.py                       # training pictures 0 to 5
    python scripts/make_shapes.py --held-out --first 56 --count 1
    python scripts/make_shapes.py --scene "blue square below red circle" --seed 3
    python scripts/make_shapes.py --plain               # letters instead of colours
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scenarios.shapes import (  # noqa: E402
    COLOURS,
    DEFAULT_SIZE,
    Scene,
    caption,
    draw,
    parse_scene,
    random_scene,
)

HELD_OUT_SEED_OFFSET = 1_000_000
"""As in ``scripts/train_captioner.py``: held-out picture j is drawn with seed 1,000,000 + j."""


def half_blocks(image: np.ndarray) -> list[str]:
    """The picture (3, S, S) as S/2 lines: each character the upper half block, its
    foreground the upper pixel and its background the lower one."""
    rgb = np.rint(image.transpose(1, 2, 0) * 255).astype(int)
    lines = []
    for y in range(0, rgb.shape[0] - 1, 2):
        cells = [
            "\x1b[38;2;{};{};{}m\x1b[48;2;{};{};{}m▀".format(*rgb[y, x], *rgb[y + 1, x])
            for x in range(rgb.shape[1])
        ]
        lines.append("".join(cells) + "\x1b[0m")
    return lines


def letters(image: np.ndarray) -> list[str]:
    """The picture as one letter per pixel: the nearest colour's initial, ``.`` for black."""
    names = list(COLOURS)
    ref = np.array([COLOURS[c] for c in names])
    dist = ((image.transpose(1, 2, 0)[:, :, None, :] - ref) ** 2).sum(-1)
    lit = image.max(axis=0) > 0
    return [
        "".join(
            names[dist[y, x].argmin()][0].upper() if lit[y, x] else "." for x in range(len(row))
        )
        for y, row in enumerate(lit)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=0, help="index of the first picture")
    parser.add_argument("--count", type=int, default=6, help="how many pictures")
    parser.add_argument("--held-out", action="store_true", help="held-out pictures")
    parser.add_argument("--scene", help="draw this scene instead")
    parser.add_argument("--seed", type=int, default=0, help="the seed for --scene")
    parser.add_argument("--plain", action="store_true", help="letters instead of colours")
    args = parser.parse_args()
    shown: list[tuple[str, Scene, int]] = []
    if args.scene is not None:
        shown.append((f"seed {args.seed}", parse_scene(args.scene), args.seed))
    else:
        which = 2 if args.held_out else 1
        for i in range(args.first, args.first + args.count):
            seed = HELD_OUT_SEED_OFFSET + i if args.held_out else i
            label = f"{'held-out' if args.held_out else 'training'} picture {i}"
            shown.append((label, random_scene(np.random.default_rng([which, i])), seed))
    for label, scene, seed in shown:
        image = draw(scene, DEFAULT_SIZE, seed)
        print(f"{label}: {caption(scene)}")
        print("\n".join(letters(image) if args.plain else half_blocks(image)))
        print()


if __name__ == "__main__":
    main()

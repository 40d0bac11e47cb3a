"""Pictures of coloured shapes, drawn from a seed, and their one canonical caption.

A scene is one shape ("a red circle") or two shapes side by side or one above the other
("a red circle above a blue square"). The captioner (``scripts/train_captioner.py``) learns to
write the caption of a picture; nothing here needs more than NumPy.

Colours: red, green, blue, yellow. Shapes: circle, square, triangle (pointing up). Relations
between two shapes: above, below, left of, right of.

**The canonical caption.** A picture of two shapes could be described two ways ("a red circle
above a blue square" is "a blue square below a red circle"); a model can only learn one, so
every caption names the upper shape first (``above``) or the left shape first (``left of``).
``below`` and ``right of`` are read when typed and turned around: "blue square below red
circle" is the scene "a red circle above a blue square", drawn and captioned as such.

Pictures are (3, S, S) float64 arrays in [0, 1] (channels red, green, blue) on a black
background; ``draw(scene, size, seed)`` moves each shape a little, changes its size a little and
varies its colour slightly, all from ``numpy.random.default_rng(seed)``, so that the same scene
and seed always give the same picture.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np

from engine.errors import SpecError

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.9, 0.15, 0.1),
    "green": (0.15, 0.8, 0.2),
    "blue": (0.15, 0.3, 0.95),
    "yellow": (0.95, 0.85, 0.1),
}
"""Each colour's (red, green, blue) before jitter."""
SHAPES = ("circle", "square", "triangle")
"""The shapes, as captions name them."""
RELATIONS = ("above", "below", "left of", "right of")
"""What may be typed between two shapes; captions use only ``above`` and ``left of``."""
CANONICAL = {
    "above": ("above", False),
    "below": ("above", True),
    "left of": ("left of", False),
    "right of": ("left of", True),
}
"""Typed relation → (relation in the caption, whether the two shapes swap)."""
ARTICLES = ("a", "an", "the")
"""Words a typed scene may put before a shape; captions use ``a``."""
DEFAULT_SIZE = 24
"""Side S of a picture in pixels."""
MIN_SIZE, MAX_SIZE = 16, 64
"""Smallest and largest side ``draw`` accepts."""
MAX_SCENE_TEXT = 200
"""Most characters of a typed scene."""

WORDS = ("a", *COLOURS, *SHAPES, "above", "left", "of")
"""Every word a caption may use, in the captioner's vocabulary order (after ``<EOS>``)."""


@dataclass(frozen=True)
class Thing:
    """One shape in a scene."""

    colour: str
    shape: str

    def words(self) -> list[str]:
        return ["a", self.colour, self.shape]


@dataclass(frozen=True)
class Scene:
    """One or two shapes; with two, ``relation`` is ``"above"`` (the first is the upper one) or
    ``"left of"`` (the first is the left one): always the canonical order."""

    things: tuple[Thing, ...]
    relation: str | None = None

    def __post_init__(self) -> None:
        if len(self.things) not in (1, 2):
            raise ValueError(f"a scene has one or two shapes, got {len(self.things)}")
        if (len(self.things) == 2) != (self.relation in ("above", "left of")):
            raise ValueError(f"relation {self.relation!r} with {len(self.things)} shapes")
        for t in self.things:
            if t.colour not in COLOURS or t.shape not in SHAPES:
                raise ValueError(f"unknown colour or shape in {t}")


def caption(scene: Scene) -> str:
    """The one caption of ``scene``: "a red circle", "a red circle above a blue square",
    "a green triangle left of a yellow circle"."""
    words = scene.things[0].words()
    if scene.relation is not None:
        words += [scene.relation, *scene.things[1].words()]
    return " ".join(words)


def caption_words(scene: Scene) -> list[str]:
    """``caption(scene)`` as a list of words (``"left of"`` is two words)."""
    return caption(scene).split()


def random_scene(rng: np.random.Generator) -> Scene:
    """A scene drawn from ``rng``: one shape (a quarter of the time) or two, every colour,
    shape and relation equally likely."""
    colours = list(COLOURS)

    def thing() -> Thing:
        return Thing(colours[int(rng.integers(len(colours)))], SHAPES[int(rng.integers(3))])

    if rng.random() < 0.25:
        return Scene((thing(),))
    first, second = thing(), thing()
    return Scene((first, second), ("above", "left of")[int(rng.integers(2))])


def all_scenes() -> list[Scene]:
    """Every scene there is (12 single shapes and 288 pairs), in a fixed order."""
    things = [Thing(c, s) for c in COLOURS for s in SHAPES]
    out = [Scene((t,)) for t in things]
    for rel in ("above", "left of"):
        out += [Scene((a, b), rel) for a in things for b in things]
    return out


# -- reading a typed scene -------------------------------------------------------------------


def _suggest(word: str, valid: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(valid), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _thing(words: list[str], text: str) -> Thing:
    """A shape from its words (an optional article, a colour, a shape)."""
    if words and words[0] in ARTICLES:
        words = words[1:]
    if not words:
        raise SpecError("scene", f"{text!r}: a shape is missing; write e.g. 'red circle'")
    if len(words) == 1:
        (word,) = words
        if word in COLOURS:
            raise SpecError(
                "scene", f"{text!r}: {word!r} needs a shape after it ({', '.join(SHAPES)})"
            )
        if word in SHAPES:
            raise SpecError(
                "scene", f"{text!r}: {word!r} needs a colour before it ({', '.join(COLOURS)})"
            )
    if len(words) != 2:
        raise SpecError(
            "scene",
            f"{text!r}: cannot read {' '.join(words)!r} as a colour and a shape; write e.g. "
            "'red circle' or 'red circle above blue square'",
        )
    colour, shape = words
    if colour not in COLOURS:
        raise SpecError(
            "scene",
            f"unknown colour {colour!r}{_suggest(colour, tuple(COLOURS))}; valid: "
            f"{', '.join(COLOURS)}",
        )
    if shape not in SHAPES:
        raise SpecError(
            "scene",
            f"unknown shape {shape!r}{_suggest(shape, SHAPES)}; valid: {', '.join(SHAPES)}",
        )
    return Thing(colour, shape)


_RELATION = re.compile(r"\b(above|below|left of|right of|to the left of|to the right of)\b")


def parse_scene(text: str) -> Scene:
    """The scene a person or a scenario describes: "red circle", "a red circle above a blue
    square", "green triangle right of yellow circle" (articles optional, any case). ``below``
    and ``right of`` are turned around into the canonical order. SpecError("scene", …) names
    what cannot be read and lists what would be valid."""
    if not isinstance(text, str):
        raise SpecError("scene", f"expected a text such as 'red circle', got {text!r}")
    if len(text) > MAX_SCENE_TEXT:
        raise SpecError(
            "scene", f"the text has {len(text):,} characters; at most {MAX_SCENE_TEXT} are read"
        )
    clean = " ".join(text.lower().replace(",", " ").split())
    if not clean:
        raise SpecError(
            "scene",
            "the scene is empty; describe one or two shapes, e.g. 'red circle above blue square'",
        )
    found = list(_RELATION.finditer(clean))
    if len(found) > 1:
        raise SpecError(
            "scene",
            f"{text!r}: at most two shapes and one relation ({', '.join(RELATIONS)}), got "
            f"{len(found)} relations",
        )
    if not found:
        words = clean.split()
        if len(words) > 3:
            rel_words = [w for w in words if w not in ARTICLES + tuple(COLOURS) + SHAPES]
            hint = _suggest(rel_words[0], ("above", "below", "left", "right")) if rel_words else ""
            raise SpecError(
                "scene",
                f"{text!r}: no relation between the shapes{hint}; valid: {', '.join(RELATIONS)}",
            )
        return Scene((_thing(words, text),))
    m = found[0]
    typed = m.group(1).replace("to the ", "")
    first = _thing(clean[: m.start()].split(), text)
    second = _thing(clean[m.end() :].split(), text)
    relation, swap = CANONICAL[typed]
    things = (second, first) if swap else (first, second)
    return Scene(things, relation)


# -- drawing -----------------------------------------------------------------------------------


def _mask(shape: str, cy: float, cx: float, r: float, size: int) -> np.ndarray:
    """(S, S) booleans: the pixels whose centres fall inside the shape."""
    y, x = np.mgrid[0:size, 0:size] + 0.5
    if shape == "circle":
        return (y - cy) ** 2 + (x - cx) ** 2 <= r * r
    if shape == "square":
        return (np.abs(y - cy) <= r) & (np.abs(x - cx) <= r)
    # A triangle pointing up: apex at (cy − r, cx), base from cx − r to cx + r at cy + r.
    frac = (y - (cy - r)) / (2 * r)
    return (frac >= 0) & (frac <= 1) & (np.abs(x - cx) <= frac * r)


def draw(scene: Scene, size: int = DEFAULT_SIZE, seed: int = 0) -> np.ndarray:
    """The picture of ``scene``, (3, size, size) float64 in [0, 1], black background.

    A single shape sits near the centre; two shapes sit in the upper and lower halves
    (``above``) or the left and right halves (``left of``), the first named in the upper or
    left one, never touching. Each centre moves by up to size/24 along each axis, each radius
    r is drawn from [0.16, 0.19]·size (a square's half side and a triangle's half base are r
    too), each colour channel moves by up to ±0.05, all from
    ``numpy.random.default_rng(seed)``.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise SpecError("size", f"expected a whole number {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise SpecError("size", f"expected a whole number {MIN_SIZE} to {MAX_SIZE}, got {size}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecError("seed", f"expected a whole number ≥ 0, got {seed!r}")
    size = int(size)
    rng = np.random.default_rng(int(seed))
    image = np.zeros((3, size, size))
    n = len(scene.things)
    if n == 1:
        centres = [(0.5, 0.5)]
    elif scene.relation == "above":
        centres = [(0.25, 0.5), (0.75, 0.5)]
    else:
        centres = [(0.5, 0.25), (0.5, 0.75)]
    shift = size / 24
    for thing, (fy, fx) in zip(scene.things, centres, strict=True):
        dy, dx = rng.uniform(-shift, shift, size=2)
        r = rng.uniform(0.16, 0.19) * size
        colour = np.clip(np.array(COLOURS[thing.colour]) + rng.uniform(-0.05, 0.05, 3), 0, 1)
        mask = _mask(thing.shape, fy * size + dy, fx * size + dx, r, size)
        image[:, mask] = colour[:, None]
    return image


def picture(text: str, size: int = DEFAULT_SIZE, seed: int = 0) -> tuple[np.ndarray, str]:
    """The picture of a typed scene and its caption: ``draw(parse_scene(text), size, seed)``
    and ``caption(…)`` (what ``engine.caption.Captioner`` is given to draw with)."""
    scene = parse_scene(text)
    return draw(scene, size, seed), caption(scene)

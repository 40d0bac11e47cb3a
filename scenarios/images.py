"""Reading a PNG or JPEG image as a network's input, the way torchvision's usual transforms do.

``load_image(path, size, resize, normalize, channels)`` reproduces::

    transforms.Compose([
        transforms.Resize(resize),        # shorter side → resize pixels, bilinear, antialiased
        transforms.CenterCrop(size),      # (h, w) from the middle
        transforms.ToTensor(),            # (C, H, W), values ÷ 255
        transforms.Normalize(mean, std),  # per channel (x − mean) / std
    ])

on a PIL image converted to RGB (3 channels) or L (1 channel). torchvision resizes a PIL image
with PIL's own ``Image.resize(…, BILINEAR)``, which always filters with a support widened by
the scale factor when shrinking (that is what "antialias" means), so the pixels here are those
torchvision would give, bit for bit: the sizes and crop offsets follow torchvision's integer
rules (``int(resize · long / short)``, ``int(round((H − h) / 2))``).
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scenarios.files import FileProblem, read_bytes

MAX_IMAGE_BYTES = 64 << 20
"""Largest image file read (64 MiB)."""

MAX_PIXELS = 40_000_000
"""Most pixels an image may have (a 40-megapixel photo), checked from its header before the
pixels are decoded, so that a small file declaring a huge image is refused."""

MAX_SIZE = 4096
"""Largest side of the network's input an image may be resized to."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
"""torchvision's ImageNet mean per channel (R, G, B)."""
IMAGENET_STD = (0.229, 0.224, 0.225)
"""torchvision's ImageNet standard deviation per channel."""

NORMALIZE_NAMES = ("imagenet", "none")
"""The named normalisations; otherwise ``{ mean = [...], std = [...] }``."""


class ImageError(ValueError):
    """An image that cannot be used; the message says why, on one line, without the file's
    name."""


@dataclass(frozen=True)
class LoadedImage:
    """An image as the network sees it, and as a person sees it."""

    tensor: np.ndarray
    """(C, H, W) float64, resized, cropped, scaled to [0, 1] and normalised."""
    pixels: np.ndarray
    """(H, W, C) uint8, resized and cropped, before scaling: what to draw."""
    original_size: tuple[int, int]
    """(H, W) of the file's image."""
    mean: tuple[float, ...]
    """The mean subtracted per channel (zeros for ``"none"``)."""
    std: tuple[float, ...]
    """The standard deviation divided by per channel (ones for ``"none"``)."""


def normalization(
    normalize: str | tuple[Sequence[float], Sequence[float]], channels: int
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) per channel for a named normalisation or an explicit pair; ImageError when
    they do not fit ``channels`` or a std is not > 0. A single number applies to every
    channel, as in torchvision."""
    if isinstance(normalize, str):
        if normalize == "none":
            return (0.0,) * channels, (1.0,) * channels
        if normalize != "imagenet":
            raise ImageError(
                f"normalize {normalize!r} is not known; give 'imagenet', 'none' or "
                "{ mean = [...], std = [...] }"
            )
        if channels != 3:
            raise ImageError(
                f"normalize 'imagenet' is for 3 channels (R, G, B) but the network's input has "
                f"{channels}; give 'none' or {{ mean = [m], std = [s] }}"
            )
        return IMAGENET_MEAN, IMAGENET_STD
    mean, std = (tuple(float(v) for v in part) for part in normalize)
    for name, values in (("mean", mean), ("std", std)):
        if len(values) not in (1, channels):
            raise ImageError(
                f"normalize.{name} has {len(values)} numbers; give 1 or {channels} (one per "
                "channel of the network's input)"
            )
        if not all(math.isfinite(v) for v in values):
            raise ImageError(f"normalize.{name} must be finite numbers, got {list(values)}")
    if any(s <= 0 for s in std):
        raise ImageError(f"normalize.std must be > 0, got {list(std)}")
    return (
        mean * channels if len(mean) == 1 else mean,
        std * channels if len(std) == 1 else std,
    )


def resized_size(height: int, width: int, shorter: int) -> tuple[int, int]:
    """(H, W) after torchvision's ``Resize(shorter)``: the shorter side becomes ``shorter``,
    the longer keeps the ratio, rounded down."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = shorter, int(shorter * long / short)
    return (new_long, new_short) if width <= height else (new_short, new_long)


def crop_box(height: int, width: int, size: tuple[int, int]) -> tuple[int, int]:
    """(top, left) of torchvision's ``CenterCrop(size)`` in an image of this size."""
    h, w = size
    return round((height - h) / 2.0), round((width - w) / 2.0)  # half to even, as Python


def load_image(
    path: Path,
    size: tuple[int, int],
    *,
    resize: int | None = None,
    normalize: str | tuple[Sequence[float], Sequence[float]] = "none",
    channels: int = 3,
    reserve: Callable[[int], None] | None = None,
) -> LoadedImage:
    """The image file at ``path`` as a (``channels``, *size*) input: resized so that its shorter
    side is ``resize`` pixels (by default the larger of ``size``, so that the crop is covered),
    centre-cropped to ``size``, scaled to [0, 1] and normalised. ImageError for a file that is
    missing, not a PNG or JPEG, too large, or smaller than the crop after resizing.

    ``reserve(nbytes)`` is told of the memory about to be used before it is: the file's size
    before it is read, and what decoding, resizing and scaling take once the image's header has
    given its size; it may raise to refuse."""
    from PIL import Image, UnidentifiedImageError

    if channels not in (1, 3):
        raise ImageError(
            f"the network's input has {channels} channels; an image gives 1 (gray) or 3 (RGB)"
        )
    h, w = size
    if not (1 <= h <= MAX_SIZE and 1 <= w <= MAX_SIZE):
        raise ImageError(f"size {[h, w]} is out of range; each side must be 1…{MAX_SIZE}")
    shorter = max(h, w) if resize is None else resize
    if not 1 <= shorter <= MAX_SIZE:
        raise ImageError(f"resize {shorter} is out of range; give 1…{MAX_SIZE}")
    mean, std = normalization(normalize, channels)
    try:
        data = read_bytes(path, MAX_IMAGE_BYTES, "PNG or JPEG image", reserve)
    except FileProblem as e:
        raise ImageError(str(e)) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: checked here
            opened = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise ImageError(f"is {width}×{height} pixels; the limit is {MAX_PIXELS:,} pixels")
            if opened.mode not in ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr"):
                raise ImageError(
                    f"has pixel mode {opened.mode!r} (16-bit or floating point); save it as an "
                    "8-bit RGB or grayscale PNG or JPEG"
                )
            new_h, new_w = resized_size(height, width, shorter)
            if reserve is not None:
                # Decoded (up to 4 bands), converted, resized, cropped; then float64 twice.
                reserve(
                    width * height * (4 + channels)
                    + new_h * new_w * channels
                    + h * w * channels * (1 + 2 * 8)
                )
            img = opened.convert("RGB" if channels == 3 else "L")
            if new_h < h or new_w < w:
                raise ImageError(
                    f"resized so that its shorter side is {shorter} it is {new_h}×{new_w}, "
                    f"smaller than the crop {h}×{w}; give resize ≥ {max(h, w)} or leave it out"
                )
            if (new_h, new_w) != (height, width):
                img = img.resize((new_w, new_h), Image.Resampling.BILINEAR)
            top, left = crop_box(new_h, new_w, (h, w))
            img = img.crop((left, top, left + w, top + h))
            pixels = np.asarray(img, dtype=np.uint8)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(
            f"is not a PNG or JPEG image ({_what(data)}); give a .png or .jpg file"
        ) from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        text = str(e).strip().splitlines()
        raise ImageError(
            f"is a damaged or truncated image ({text[0] if text else type(e).__name__})"
        ) from None
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    x = pixels.transpose(2, 0, 1).astype(np.float64) / 255.0  # (C, H, W)
    x = (x - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    pixels.setflags(write=False)
    return LoadedImage(x, pixels, (height, width), mean, std)


def _what(data: bytes) -> str:
    """What the bytes look like, for the message about a file that is not an image."""
    if not data:
        return "the file is empty"
    head = data[:512]
    if head.startswith((b"GIF8", b"BM", b"RIFF", b"II*\x00", b"MM\x00*")):
        return "it is another image format"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return f"its first bytes are {data[:8].hex(' ')}"
    return "it holds text"

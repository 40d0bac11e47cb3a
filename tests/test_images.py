"""Images as a network's input: torchvision's Resize + CenterCrop + ToTensor + Normalize, checked
against the same steps written with torch, and every file that is not an image is one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from scenarios.images import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MAX_PIXELS,
    ImageError,
    crop_box,
    load_image,
    normalization,
    resized_size,
)

torch.set_num_threads(1)


def picture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """An (h, w, 3) uint8 picture: smooth stripes with noise, different in each channel."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    a = 127 + 100 * np.sin(x / 7.0) * np.cos(y / 5.0) + rng.normal(0, 20, (h, w))
    a = a.clip(0, 255).astype(np.uint8)
    return np.stack([a, a[::-1], 255 - a], axis=-1)


def save(tmp_path: Path, pixels: np.ndarray, name: str = "p.png", **kw: object) -> Path:
    path = tmp_path / name
    Image.fromarray(pixels).save(path, **kw)
    return path


def torch_transform(
    pixels: np.ndarray,
    resize: int,
    size: tuple[int, int],
    mean: tuple[float, ...],
    std: tuple[float, ...],
) -> np.ndarray:
    """torchvision's chain written with torch alone on the uint8 image: antialiased bilinear
    resize of the shorter side, centre crop, ÷255, normalise."""
    h, w = pixels.shape[:2]
    new_h, new_w = resized_size(h, w, resize)
    t = torch.from_numpy(pixels).permute(2, 0, 1)[None].to(torch.float64)
    t = torch.nn.functional.interpolate(
        t, size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False
    )[0]
    top, left = crop_box(new_h, new_w, size)
    t = t[:, top : top + size[0], left : left + size[1]] / 255.0
    m = torch.tensor(mean, dtype=torch.float64)[:, None, None]
    s = torch.tensor(std, dtype=torch.float64)[:, None, None]
    return ((t - m) / s).numpy()


@pytest.mark.parametrize(
    ("hw", "resize", "size"),
    [((300, 200), 256, (224, 224)), ((100, 150), 32, (32, 32)), ((64, 64), 96, (80, 64))],
)
def test_the_chain_agrees_with_torch_interpolate_within_a_rounding(
    tmp_path: Path, hw: tuple[int, int], resize: int, size: tuple[int, int]
) -> None:
    """Pillow works in fixed point and rounds to whole 8-bit values; torch's interpolate stays in
    floating point. Measured on these pictures the difference is at most 1.0003/255 before
    normalising (mean 0.3/255): Pillow's rounding, and never more."""
    pixels = picture(*hw)
    img = load_image(save(tmp_path, pixels), size, resize=resize, normalize="none", channels=3)
    expected = torch_transform(pixels, resize, size, (0, 0, 0), (1, 1, 1))
    assert img.tensor.shape == (3, *size)
    diff = np.abs(img.tensor - expected) * 255
    assert diff.max() <= 1.01
    assert diff.mean() < 0.5


def test_imagenet_normalisation_is_the_same_difference_divided_by_std(tmp_path: Path) -> None:
    pixels = picture(240, 320, seed=3)
    img = load_image(save(tmp_path, pixels), (224, 224), resize=256, normalize="imagenet")
    expected = torch_transform(pixels, 256, (224, 224), IMAGENET_MEAN, IMAGENET_STD)
    diff = np.abs(img.tensor - expected) * 255 * np.array(IMAGENET_STD)[:, None, None]
    assert diff.max() <= 1.01
    assert img.mean == IMAGENET_MEAN and img.std == IMAGENET_STD


def test_the_pixels_are_exactly_pillows_resize_then_the_centre_crop(tmp_path: Path) -> None:
    pixels = picture(120, 90)
    img = load_image(save(tmp_path, pixels), (40, 40), normalize="none")
    # Resize(40) on 120×90 (H×W): the shorter side W → 40, H → int(40·120/90) = 53.
    resized = np.asarray(Image.fromarray(pixels).resize((40, 53), Image.Resampling.BILINEAR))
    top = round((53 - 40) / 2)
    np.testing.assert_array_equal(img.pixels, resized[top : top + 40])
    np.testing.assert_array_equal(img.tensor, img.pixels.transpose(2, 0, 1) / 255.0)
    assert img.original_size == (120, 90)


def test_an_image_already_of_the_size_is_not_resampled(tmp_path: Path) -> None:
    pixels = picture(32, 32)
    img = load_image(save(tmp_path, pixels), (32, 32), normalize="none")
    np.testing.assert_array_equal(img.pixels, pixels)


def test_resized_size_and_crop_box_follow_torchvisions_integer_rules() -> None:
    assert resized_size(480, 640, 256) == (256, 341)  # int(256·640/480) = int(341.33)
    assert resized_size(640, 480, 256) == (341, 256)
    assert resized_size(100, 100, 7) == (7, 7)
    assert crop_box(256, 341, (224, 224)) == (16, 58)  # round(58.5) = 58, half to even
    assert crop_box(255, 255, (224, 224)) == (16, 16)  # round(15.5) = 16


def test_a_colour_image_for_one_channel_is_converted_to_gray(tmp_path: Path) -> None:
    pixels = picture(28, 28)
    img = load_image(save(tmp_path, pixels), (28, 28), normalize="none", channels=1)
    gray = np.asarray(Image.fromarray(pixels).convert("L"))
    assert img.tensor.shape == (1, 28, 28)
    np.testing.assert_array_equal(img.pixels[:, :, 0], gray)


def test_a_gray_or_palette_or_rgba_png_is_read_as_rgb(tmp_path: Path) -> None:
    gray = picture(20, 20)[:, :, 0]
    assert load_image(save(tmp_path, gray, "g.png"), (20, 20)).tensor.shape == (3, 20, 20)
    rgba = np.dstack([picture(20, 20), np.full((20, 20), 255, np.uint8)])
    out = load_image(save(tmp_path, rgba, "a.png"), (20, 20))
    np.testing.assert_array_equal(out.pixels, rgba[:, :, :3])
    pal = Image.fromarray(picture(20, 20)).convert("P")
    pal.save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png", (20, 20)).tensor.shape == (3, 20, 20)


def test_a_jpeg_is_read(tmp_path: Path) -> None:
    path = save(tmp_path, picture(50, 60), "p.jpg", quality=95)
    img = load_image(path, (48, 48), normalize="imagenet")
    assert img.tensor.shape == (3, 48, 48) and np.isfinite(img.tensor).all()


@pytest.mark.parametrize(
    ("normalize", "channels", "words"),
    [
        ("imagenet", 1, "is for 3 channels"),
        ("zscore", 3, "not known"),
        (([0.5, 0.5], [1.0, 1.0]), 3, "normalize.mean has 2 numbers; give 1 or 3"),
        (([0.5], [0.0]), 3, "std must be > 0"),
        (([float("nan")], [1.0]), 1, "must be finite"),
    ],
)
def test_a_normalisation_that_does_not_fit_is_one_line(
    normalize: object, channels: int, words: str
) -> None:
    with pytest.raises(ImageError, match=words):
        normalization(normalize, channels)  # type: ignore[arg-type]


def test_one_mean_and_std_apply_to_every_channel() -> None:
    assert normalization(([0.5], [0.25]), 3) == ((0.5,) * 3, (0.25,) * 3)


def error(path: Path, size: tuple[int, int] = (8, 8), **kw: object) -> str:
    with pytest.raises(ImageError) as info:
        load_image(path, size, **kw)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message and str(path) not in message
    return message


def test_a_file_that_is_not_an_image_is_one_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture\n")
    assert error(text) == "is not a PNG or JPEG image (it holds text); give a .png or .jpg file"
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert "the file is empty" in error(empty)
    gif = tmp_path / "p.gif"
    Image.fromarray(picture(8, 8)).save(gif)
    assert "another image format" in error(gif)


def test_a_truncated_png_is_one_line(tmp_path: Path) -> None:
    data = save(tmp_path, picture(64, 64)).read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    assert "damaged or truncated" in error(cut)


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    assert error(tmp_path / "nowhere.png") == "no such file"


def test_an_image_declaring_too_many_pixels_is_refused_before_decoding(tmp_path: Path) -> None:
    side = int(MAX_PIXELS**0.5) + 1
    path = tmp_path / "huge.png"
    Image.new("1", (side, side)).save(path)  # one bit per pixel: a small file
    assert path.stat().st_size < 1 << 20
    assert f"the limit is {MAX_PIXELS:,} pixels" in error(path)


def test_a_sixteen_bit_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    Image.fromarray(np.zeros((8, 8), np.uint16) + 1000).save(path)
    assert "8-bit" in error(path)


def test_a_resize_smaller_than_the_crop_is_refused(tmp_path: Path) -> None:
    path = save(tmp_path, picture(40, 40))
    assert "give resize ≥ 32" in error(path, (32, 32), resize=16)


def test_reserve_hears_of_the_file_then_of_the_pixels_before_decoding(tmp_path: Path) -> None:
    path = save(tmp_path, picture(100, 80))
    asked: list[int] = []
    load_image(path, (64, 64), reserve=asked.append)
    assert asked[0] == path.stat().st_size
    assert asked[1] >= 100 * 80 * 3 + 64 * 64 * 3 * 8

    class Refused(Exception):
        pass

    def refuse(nbytes: int) -> None:
        raise Refused

    with pytest.raises(Refused):
        load_image(path, (64, 64), reserve=refuse)


@pytest.mark.parametrize("suffix", ["png", "jpg"])
def test_damaged_bytes_anywhere_are_one_line_never_a_trace(tmp_path: Path, suffix: str) -> None:
    import random

    data = save(tmp_path, picture(40, 50), f"a.{suffix}").read_bytes()
    rng = random.Random(0)
    path = tmp_path / f"x.{suffix}"
    for _ in range(100):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[: rng.randrange(len(damaged))]
        path.write_bytes(bytes(damaged))
        try:
            load_image(path, (16, 16))
        except ImageError as e:
            assert "\n" not in str(e)

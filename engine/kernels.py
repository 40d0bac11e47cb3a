"""Named 3×3 kernels: the classic edge detectors and image filters, as float64 arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NamedKernel:
    """A kernel a scenario can ask for by name."""

    name: str
    values: tuple[tuple[float, ...], ...]
    """Rows of the kernel, as written in the literature (cross-correlation, no flip)."""
    description: str

    def array(self) -> np.ndarray:
        """A fresh (f, f) float64 copy of the kernel."""
        return np.array(self.values, dtype=np.float64)


_KERNELS = [
    NamedKernel(
        "vertical_edge",
        ((1, 0, -1), (1, 0, -1), (1, 0, -1)),
        "Vertical edge detector: bright on the left, dark on the right gives a large output.",
    ),
    NamedKernel(
        "horizontal_edge",
        ((1, 1, 1), (0, 0, 0), (-1, -1, -1)),
        "Horizontal edge detector: bright above, dark below gives a large output.",
    ),
    NamedKernel(
        "sobel_x",
        ((1, 0, -1), (2, 0, -2), (1, 0, -1)),
        "Sobel vertical-edge kernel: the centre row weighted 2 for robustness.",
    ),
    NamedKernel(
        "sobel_y",
        ((1, 2, 1), (0, 0, 0), (-1, -2, -1)),
        "Sobel horizontal-edge kernel (Sobel x transposed).",
    ),
    NamedKernel(
        "scharr_x",
        ((3, 0, -3), (10, 0, -10), (3, 0, -3)),
        "Scharr vertical-edge kernel: weights 3, 10, 3 for better rotational symmetry.",
    ),
    NamedKernel(
        "scharr_y",
        ((3, 10, 3), (0, 0, 0), (-3, -10, -3)),
        "Scharr horizontal-edge kernel (Scharr x transposed).",
    ),
    NamedKernel(
        "edge_45",
        ((0, 1, 2), (-1, 0, 1), (-2, -1, 0)),
        "45° edge detector: responds to edges running from bottom-left to top-right.",
    ),
    NamedKernel(
        "edge_135",
        ((2, 1, 0), (1, 0, -1), (0, -1, -2)),
        "135° edge detector: responds to edges running from top-left to bottom-right.",
    ),
    NamedKernel(
        "identity",
        ((0, 0, 0), (0, 1, 0), (0, 0, 0)),
        "Identity: copies the centre pixel.",
    ),
    NamedKernel(
        "box_blur",
        ((1 / 9, 1 / 9, 1 / 9), (1 / 9, 1 / 9, 1 / 9), (1 / 9, 1 / 9, 1 / 9)),
        "Box blur: the mean of the nine pixels.",
    ),
    NamedKernel(
        "gaussian_blur",
        ((1 / 16, 2 / 16, 1 / 16), (2 / 16, 4 / 16, 2 / 16), (1 / 16, 2 / 16, 1 / 16)),
        "Gaussian blur: a weighted mean favouring the centre.",
    ),
    NamedKernel(
        "sharpen",
        ((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
        "Sharpen: the centre boosted against its four neighbours.",
    ),
    NamedKernel(
        "laplacian",
        ((0, 1, 0), (1, -4, 1), (0, 1, 0)),
        "Laplacian: second derivative, zero on flat areas and ramps, large at edges.",
    ),
]

KERNELS: dict[str, NamedKernel] = {k.name: k for k in _KERNELS}
"""Every named kernel, by name."""


def kernel(name: str) -> np.ndarray:
    """The named kernel as a (3, 3) float64 array; KeyError lists the valid names."""
    try:
        return KERNELS[name].array()
    except KeyError:
        raise KeyError(f"unknown kernel {name!r}; valid: {', '.join(KERNELS)}") from None

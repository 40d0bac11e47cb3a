"""``kind = "learn_kernel"``: a kernel learned by gradient descent from filtered images."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import Field

from engine.core import Stage
from engine.errors import SpecError
from scenarios.build import BuildContext, Problems, is_number_array, value, value_shape
from scenarios.registry import register_kind
from scenarios.schema import ScenarioBase
from scenarios.values import RandomSpec


class LearnKernelScenario(ScenarioBase):
    """``kind = "learn_kernel"``: a kernel learned by gradient descent from filtered images."""

    text_values = frozenset({"hidden_kernel", "init"})

    images: Any
    """(N, H, W) or (H, W) numbers inline, one random or data spec, or a list of (H, W) specs."""
    hidden_kernel: Any
    """The kernel that makes the targets: a named kernel, inline (f_h, f_w) numbers or a random
    spec."""
    init: Any = None
    """The starting weights, shape of ``hidden_kernel``; seeded uniform floats in [−1, 1) when
    omitted."""
    learning_rate: float = Field(strict=True)
    """η in W ← W − η·∂L/∂W, > 0."""
    iterations: int = Field(strict=True)
    """How many gradient-descent updates to run (one step each)."""


def _images_spec(
    spec: Any, problems: Problems
) -> tuple[tuple[int, int, int] | None, Callable[[], np.ndarray | None]]:
    """The (N, H, W) shape of ``images``, known without generating them, and a function that
    makes them. ``images`` is one value spec of shape (N, H, W) or (H, W), or a list of specs
    (random, data or inline) of one (H, W) image each."""
    if isinstance(spec, list) and spec and not is_number_array(spec):
        shapes = [value_shape(s, f"images[{i}]", problems) for i, s in enumerate(spec)]
        for i, shape in enumerate(shapes):
            if shape is not None and len(shape) != 2:
                problems.add(f"images[{i}]", f"expected one (H, W) image, got shape {list(shape)}")
                return None, lambda: None
        if any(shape is None for shape in shapes):
            return None, lambda: None
        if len(set(shapes)) > 1:
            listed = ", ".join(f"{list(s)}" for s in shapes)  # type: ignore[arg-type]
            problems.add("images", f"all images must have the same shape, got {listed}")
            return None, lambda: None
        h, w = shapes[0]  # type: ignore[misc]

        def make_list() -> np.ndarray | None:
            arrays = [value(s, f"images[{i}]", problems) for i, s in enumerate(spec)]
            return None if any(a is None for a in arrays) else np.stack(arrays)  # type: ignore[arg-type]

        return (len(spec), h, w), make_list
    shape = value_shape(spec, "images", problems)
    if shape is None:
        return None, lambda: None
    if len(shape) not in (2, 3):
        problems.add(
            "images", f"expected a 2-D (H, W) or 3-D (N, H, W) array, got shape {list(shape)}"
        )
        return None, lambda: None
    full = (1, *shape) if len(shape) == 2 else shape
    return full, lambda: value(spec, "images", problems)  # type: ignore[return-value]


@register_kind("learn_kernel", LearnKernelScenario)
def build_learn(sc: LearnKernelScenario, ctx: BuildContext) -> list[Stage]:
    """A KernelLearningStage: sizes are checked from shapes alone before anything is generated,
    then the whole training run is computed, reporting ``progress(done, total)`` iterations."""
    from engine.learn import KernelLearningStage, check_sizes, learn_peak_bytes

    problems, progress = ctx.problems, ctx.progress

    shape, make_images = _images_spec(sc.images, problems)
    if isinstance(sc.hidden_kernel, dict):
        hidden_shape = value_shape(sc.hidden_kernel, "hidden_kernel", problems)
        hidden = None
    else:
        hidden = value(sc.hidden_kernel, "hidden_kernel", problems, presets=True)
        hidden_shape = None if hidden is None else hidden.shape
    if shape is None or hidden_shape is None:
        return []
    if len(hidden_shape) != 2:
        problems.add(
            "hidden_kernel", f"expected one (f_h, f_w) kernel, got shape {list(hidden_shape)}"
        )
        return []
    try:
        check_sizes(shape, (hidden_shape[0], hidden_shape[1]), sc.iterations)
        need = learn_peak_bytes(shape, (hidden_shape[0], hidden_shape[1]), sc.iterations)
        ctx.budget.charge(need, "images", "learning the kernel")
    except SpecError as e:
        problems.spec_error(e)
        return []
    if hidden is None:
        hidden = value(sc.hidden_kernel, "hidden_kernel", problems)
    if sc.init is None:
        seeded = RandomSpec(random=list(hidden_shape), seed=0, low=-1, high=1, integer=False)
        init: np.ndarray | None = seeded.generate()
    else:
        init = value(sc.init, "init", problems, presets=True)
    images = make_images()
    if images is None or hidden is None or init is None:
        return []
    try:
        stage = KernelLearningStage(
            images, hidden, init, sc.learning_rate, sc.iterations, progress=progress
        )
    except SpecError as e:
        problems.spec_error(e)
        return []
    return [stage]

"""The pydantic models of scenario files: one model per ``kind``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ScenarioBase(BaseModel):
    """Fields every scenario file has, whatever its kind."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    """Which computation the file describes; picks the schema."""
    title: str = Field(min_length=1)
    """Shown in the browser and the player's header."""
    topic: str = "Convolution"
    """Curriculum heading the browser lists the scenario under."""
    description: str = ""
    """A few sentences on what the scenario teaches."""
    order: int = 100
    """Position inside its topic in the browser (smaller first)."""


class ConvScenario(ScenarioBase):
    """``kind = "conv"``: one convolution layer.

    The value fields are checked by the loader, which knows the shapes involved; here they
    are only required to be present where needed.
    """

    input: Any
    """(H, W) or (C, H, W) numbers inline, or ``{ random = [C, H, W], seed = 0 }``."""
    kernel: Any = None
    """One filter: a named kernel, an inline (f, f) or (C, f, f) array, or a random spec."""
    kernels: Any = None
    """Several filters: a list of what ``kernel`` takes, or one random (F, C, f, f) spec."""
    bias: Any = 0
    """One number for every filter, or a list with one number per filter."""
    stride: Any = 1
    """``s`` or ``[s_h, s_w]``, each ≥ 1."""
    padding: Any = "valid"
    """``"valid"``, ``"same"`` (odd kernels, stride 1), ``p`` or ``[p_h, p_w]``."""


MODELS: dict[str, type[ScenarioBase]] = {"conv": ConvScenario}
"""Scenario kinds and their schemas."""


def all_field_names() -> set[str]:
    """Every key any scenario model accepts (for "did you mean" suggestions)."""
    from scenarios.values import RandomSpec

    names: set[str] = set(RandomSpec.model_fields)
    for model in MODELS.values():
        names |= set(model.model_fields)
    return names

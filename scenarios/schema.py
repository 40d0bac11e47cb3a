"""What the pydantic models of every scenario kind share: the fields every file has, and the
layout of a one-layer recurrent module's weights. Each kind's own model lives in its module in
``scenarios/kinds/``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


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


class OneLayerWeights(BaseModel):
    """Weights of a one-layer recurrent module: ``weight_ih_l0`` and the other names PyTorch's
    ``named_parameters`` gives a one-layer ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` are read as
    ``weight_ih`` and so on, so a state dict's keys can be pasted as they are."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_layer_suffix(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for key in data:
            base = key.removesuffix("_l0") if isinstance(key, str) else key
            if base != key and base in cls.model_fields:
                if base in data:
                    raise ValueError(f"{key} and {base} are the same weights: give one of them")
                out[base] = out.pop(key)
        return out

"""netsim's engine: stages of neural-network computation as inspectable, randomly addressable steps.

The engine is numbers only: it never imports textual or rich, and imports torch only inside the
functions that compare a stage with PyTorch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.activation import ACTIVATIONS, ActivationStage, ActivationStep
    from engine.beam import BeamSearchStage, BeamStep, beam_search
    from engine.bptt import BpttStage, BpttStep
    from engine.caption import Captioner, CaptionStage, CaptionStep
    from engine.cells import CellOut, cell_forward, run_cell
    from engine.conv import ConvStage, ConvStep, output_size, size_formula
    from engine.core import Simulation, Stage, Step
    from engine.decoding import Decoder, DecoderState
    from engine.deep_recurrent import DeepRecurrentStage, DeepStep
    from engine.errors import SpecError
    from engine.kernels import KERNELS, kernel
    from engine.language import LanguageModelStage, LmDecoder, LmStep
    from engine.learn import KernelLearningStage, LearnStep
    from engine.network import Layer, Network, NetworkError, NetworkStage
    from engine.pool import PoolStage, PoolStep
    from engine.recurrent import RecurrentStage, RecurrentStep
    from engine.seq2seq import TranslationStage, TranslationStep, Translator
    from engine.tokens import TokenStage, TokenStep, Vocabulary

# Each public name → the module that defines it, imported on first use (PEP 562), so that
# importing one engine module (``engine.network``) does not import every other one.
_WHERE: dict[str, str] = {
    "ACTIVATIONS": "engine.activation",
    "ActivationStage": "engine.activation",
    "ActivationStep": "engine.activation",
    "BeamSearchStage": "engine.beam",
    "BeamStep": "engine.beam",
    "beam_search": "engine.beam",
    "BpttStage": "engine.bptt",
    "BpttStep": "engine.bptt",
    "CaptionStage": "engine.caption",
    "CaptionStep": "engine.caption",
    "Captioner": "engine.caption",
    "CellOut": "engine.cells",
    "cell_forward": "engine.cells",
    "run_cell": "engine.cells",
    "ConvStage": "engine.conv",
    "ConvStep": "engine.conv",
    "output_size": "engine.conv",
    "size_formula": "engine.conv",
    "Simulation": "engine.core",
    "Stage": "engine.core",
    "Step": "engine.core",
    "Decoder": "engine.decoding",
    "DecoderState": "engine.decoding",
    "DeepRecurrentStage": "engine.deep_recurrent",
    "DeepStep": "engine.deep_recurrent",
    "SpecError": "engine.errors",
    "KERNELS": "engine.kernels",
    "kernel": "engine.kernels",
    "LanguageModelStage": "engine.language",
    "LmDecoder": "engine.language",
    "LmStep": "engine.language",
    "KernelLearningStage": "engine.learn",
    "LearnStep": "engine.learn",
    "Layer": "engine.network",
    "Network": "engine.network",
    "NetworkError": "engine.network",
    "NetworkStage": "engine.network",
    "PoolStage": "engine.pool",
    "PoolStep": "engine.pool",
    "RecurrentStage": "engine.recurrent",
    "RecurrentStep": "engine.recurrent",
    "TranslationStage": "engine.seq2seq",
    "TranslationStep": "engine.seq2seq",
    "Translator": "engine.seq2seq",
    "TokenStage": "engine.tokens",
    "TokenStep": "engine.tokens",
    "Vocabulary": "engine.tokens",
}

__all__ = [
    "ACTIVATIONS",
    "KERNELS",
    "ActivationStage",
    "ActivationStep",
    "BeamSearchStage",
    "BeamStep",
    "BpttStage",
    "BpttStep",
    "CaptionStage",
    "CaptionStep",
    "Captioner",
    "CellOut",
    "ConvStage",
    "ConvStep",
    "Decoder",
    "DecoderState",
    "DeepRecurrentStage",
    "DeepStep",
    "KernelLearningStage",
    "LanguageModelStage",
    "Layer",
    "LearnStep",
    "LmDecoder",
    "LmStep",
    "Network",
    "NetworkError",
    "NetworkStage",
    "PoolStage",
    "PoolStep",
    "RecurrentStage",
    "RecurrentStep",
    "Simulation",
    "SpecError",
    "Stage",
    "Step",
    "TokenStage",
    "TokenStep",
    "TranslationStage",
    "TranslationStep",
    "Translator",
    "Vocabulary",
    "beam_search",
    "cell_forward",
    "kernel",
    "output_size",
    "run_cell",
    "size_formula",
]


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` when it is first asked for."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""netsim's engine: stages of neural-network computation as inspectable, randomly addressable steps.

The engine is numbers only: it never imports textual or rich, and imports torch only inside the
functions that compare a stage with PyTorch.
"""

from engine.activation import ACTIVATIONS, ActivationStage, ActivationStep
from engine.bptt import BpttStage, BpttStep
from engine.conv import ConvStage, ConvStep, output_size, size_formula
from engine.core import Simulation, Stage, Step
from engine.deep_recurrent import DeepRecurrentStage, DeepStep
from engine.errors import SpecError
from engine.kernels import KERNELS, kernel
from engine.language import LanguageModelStage, LmStep
from engine.learn import KernelLearningStage, LearnStep
from engine.network import Layer, Network, NetworkError, NetworkStage
from engine.pool import PoolStage, PoolStep
from engine.recurrent import RecurrentStage, RecurrentStep
from engine.tokens import TokenStage, TokenStep, Vocabulary

__all__ = [
    "ACTIVATIONS",
    "KERNELS",
    "ActivationStage",
    "ActivationStep",
    "BpttStage",
    "BpttStep",
    "ConvStage",
    "ConvStep",
    "DeepRecurrentStage",
    "DeepStep",
    "KernelLearningStage",
    "LanguageModelStage",
    "Layer",
    "LearnStep",
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
    "Vocabulary",
    "kernel",
    "output_size",
    "size_formula",
]

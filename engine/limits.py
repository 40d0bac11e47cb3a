"""Every limit the engine enforces, and the memory budget of one whole simulation.

Each stage kind refuses, with ``SpecError(field, message)``, a specification beyond one of the
limits below before it allocates anything. The limits are deliberately far above what a
person can read step by step, and low enough that a laptop never swaps.

Memory is counted for the whole simulation, not per stage: a ``Budget`` holds the bytes one
scenario may use (``MAX_BYTES`` by default) and each stage is charged its peak, estimated from
shapes alone before anything is allocated::

    from engine.limits import Budget
    from engine.conv import conv_peak_bytes

    budget = Budget()                       # 1 GiB for the whole scenario
    budget.charge(conv_peak_bytes(in_shape, w_shape, stride, padding), "input", "conv1")
    ...                                     # only then generate the input and build the stage

``Budget.charge(nbytes, field, what)`` adds ``nbytes`` to what the scenario already uses, or
raises ``SpecError(field, "WHAT would need 2.3 GiB; the whole scenario may use at most 1 GiB")``
(saying how much the earlier stages already take, if any) and charges nothing.

The estimates, one per stage kind, each the peak of building the stage, holding it, and
running its PyTorch check (``reference()`` and ``check_against_torch()``) once:

=================  ========================================================================
kind               estimate
=================  ========================================================================
conv               ``engine.conv.conv_peak_bytes(in_shape, w_shape, stride, padding)``
pool               ``engine.pool.pool_peak_bytes(in_shape, size, stride)``
activation         ``engine.activation.activation_peak_bytes(shape)``
recurrent          ``engine.recurrent.recurrent_peak_bytes(cell, steps, input_size, hidden,
                   output)``
deep_recurrent     ``engine.deep_recurrent.deep_peak_bytes(cell, steps, input_size, hidden,
                   num_layers, bidirectional, output)``
bptt               ``engine.bptt.bptt_peak_bytes(steps, input_size, hidden)``
learn_kernel       ``engine.learn.learn_peak_bytes(images_shape, kernel_hw, iterations)``
tokens             ``engine.tokens.tokens_peak_bytes(corpus_chars, tokens, vocabulary)``
language_model     ``engine.language.language_peak_bytes(hidden, vocabulary, max_length)``
beam_search        ``engine.beam.beam_peak_bytes(beam_width, vocabulary, max_length, state)``
=================  ========================================================================

Every estimate is an upper bound with some slack (``tests/test_limits.py`` measures the real
peaks with tracemalloc and, for PyTorch, the process's resident size). The PyTorch checks are
computed in blocks where they could be large (``REFERENCE_BLOCK_BYTES``) so that their peak is
bounded and counted.
"""

from __future__ import annotations

from engine.errors import SpecError

GiB = 1 << 30
"""Bytes in a gibibyte."""

MAX_BYTES = 1 * GiB
"""Most memory one whole simulation may use: every stage, held at once, and its PyTorch check."""

MAX_STRIDE = 1 << 20
"""Largest stride accepted: far beyond any input that fits in memory."""

MAX_SEQUENCE = 10_000
"""Most time steps one recurrent sequence may have, decoder steps included (T = Tx + Ty)."""

MAX_OUTPUT_SIZE = 10_000
"""Most outputs (softmax classes) a recurrent output layer may have, and most tokens a language
model's vocabulary may hold: each step shows a distribution over all of them."""

MAX_VOCABULARY = 100_000
"""Largest vocabulary size a tokens stage may ask for (``vocabulary_size``)."""

MAX_CORPUS_BYTES = 16 << 20
"""Largest corpus text a vocabulary is built from (16 MiB of UTF-8)."""

MAX_CORPUS_TOKENS = MAX_CORPUS_BYTES
"""Most tokens a corpus may be cut into (one per byte at most, at character level)."""

DEFAULT_MAX_TOKENS = 1000
"""Default limit on the tokens of one sentence, ``<EOS>`` included."""

MAX_TOKENS = 100_000
"""Largest ``max_tokens`` a tokens stage accepts: one step per token."""

MAX_LAYERS = 8
"""Most stacked layers a deep recurrent network may have."""

MAX_NEGATIVE_SLOPE = 1e6
"""Largest leaky-ReLU slope: the function's curve, drawn over a few units each side of 0,
stays finite and readable."""

MAX_WORK = 4_000_000_000
"""Most multiply-adds one stage may take to build (a second or two of NumPy)."""

MAX_ITERATIONS = 100_000
"""Most optimisation iterations a kernel-learning stage may run."""

MAX_LENGTH = 50
"""Most steps (tokens, ``<EOS>`` included) one language-model sequence may take."""

MAX_BEAM_WIDTH = 1000
"""Widest beam search: B hypotheses kept per step (B × V expansions scored). 1,000 is far
beyond what a person reads, and a search over 50 steps of a 10,000-token vocabulary at this
width is still a few seconds of NumPy."""

MAX_INPUT_TEXT = 200
"""Most characters of a text a person types or a scenario gives for a model to read."""

REFERENCE_BLOCK_BYTES = 4 << 20
"""Size of one block of a PyTorch check computed in pieces (conv, pool, activation, tokens):
the temporaries torch makes for one block stay within a small multiple of this."""

ALLOCATOR_SLACK = 8 * REFERENCE_BLOCK_BYTES
"""What the C heap may keep of blocks already freed while a check runs block after block.

glibc raises its mmap threshold to the size of the last large block freed, so later blocks
come from the heap, which fragments: measured, a check in 4 MiB blocks grows the process by
up to ~5 blocks (and in 32 MiB blocks by up to ~7). Counted once in every blocked estimate."""


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest unit that keeps a number ≥ 1: ``2.3 GiB``, ``512 MiB``."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            v = n / size
            if v == int(v):
                return f"{int(v):,} {unit}"
            return f"{v:.1f} {unit}" if v < 10 else f"{v:,.0f} {unit}"
    return f"{int(n)} bytes"


def check_bytes(nbytes: int, field: str, what: str, limit: int = MAX_BYTES) -> None:
    """SpecError naming ``field`` if one stage alone needs more than ``limit``."""
    if nbytes > limit:
        raise SpecError(
            field,
            f"{what} needs {format_bytes(nbytes)} of memory, PyTorch check included; the limit "
            f"is {format_bytes(limit)}",
        )


class Budget:
    """The memory one simulation may use, charged stage by stage before each is built.

    Args:
        total: bytes for the whole simulation; ``MAX_BYTES`` (1 GiB) by default.
    """

    def __init__(self, total: int = MAX_BYTES) -> None:
        self.total = int(total)
        """Bytes the whole simulation may use."""
        self.used = 0
        """Bytes charged so far."""

    @property
    def remaining(self) -> int:
        """Bytes still free."""
        return self.total - self.used

    def charge(self, nbytes: int, field: str, what: str) -> None:
        """Count ``nbytes`` against the budget, or raise ``SpecError(field, …)`` and count
        nothing if they do not fit. ``what`` names the thing, e.g. ``"stage 3 (conv)"``."""
        nbytes = int(nbytes)
        if nbytes < 0:
            raise ValueError(f"cannot charge a negative size, got {nbytes}")
        if nbytes > self.remaining:
            earlier = (
                f" ({format_bytes(self.used)} already taken by what comes before it)"
                if self.used
                else ""
            )
            raise SpecError(
                field,
                f"{what} would need {format_bytes(nbytes)}; the whole scenario may use at most "
                f"{format_bytes(self.total)}{earlier}",
            )
        self.used += nbytes

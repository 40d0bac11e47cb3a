"""Backpropagation through time in a tanh RNN, stepped backward from the last time step to the
first, with gradient clipping by value or by norm."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.arrays import l2norm
from engine.core import Stage, Step
from engine.errors import SpecError
from engine.recurrent import FLOAT_MAX, RecurrentStage, recurrent_peak_bytes
from engine.threads import one_blas_thread

LOSSES = ("last", "all")
"""Where the loss is taken: at the last time step only, or summed over every time step."""

CLIP_MODES = ("value", "norm")
"""Gradient clipping: each entry into [−c, c], or the whole gradient scaled to norm ≤ c."""

PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
"""The RNN's parameters, PyTorch's names: W_ax, W_aa and the two biases (b_a = b_ih + b_hh)."""

CLIP_EPS = 1e-6
"""``torch.nn.utils.clip_grad_norm_`` divides by ‖g‖ + 1e-6; the same is done here."""


def clip_gradients(
    grads: dict[str, np.ndarray], mode: str, threshold: float
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The clipped gradients and a summary, as ``torch.nn.utils.clip_grad_value_`` /
    ``clip_grad_norm_`` would leave them.

    by value: g ← clip(g, −c, c) entry by entry.
    by norm: ‖g‖ is the norm of all gradients joined into one vector; if it exceeds c every
    gradient is scaled by c / (‖g‖ + 1e-6), so the direction is kept.

    The summary holds ``norm_before``, ``norm_after`` (global norms), ``scale`` (by norm; 1 when
    not clipped) and ``clipped_entries`` (how many entries changed).
    """
    if mode not in CLIP_MODES:
        raise SpecError("clip.mode", f"expected one of {', '.join(CLIP_MODES)}, got {mode!r}")
    c = float(threshold)
    if not (math.isfinite(c) and c > 0):
        raise SpecError("clip.threshold", f"must be a finite number > 0, got {threshold!r}")
    before = _global_norm(grads)
    scale = 1.0
    if mode == "value":
        after_grads = {k: np.clip(g, -c, c) for k, g in grads.items()}
    else:
        scale = min(c / (before + CLIP_EPS), 1.0)
        after_grads = {k: g * scale for k, g in grads.items()}
    changed = sum(int(np.count_nonzero(after_grads[k] != g)) for k, g in grads.items())
    after = _global_norm(after_grads)
    summary = {
        "mode": mode,
        "threshold": c,
        "norm_before": before,
        "norm_after": after,
        "scale": scale,
        "clipped_entries": changed,
        "entries": sum(int(g.size) for g in grads.values()),
    }
    return after_grads, summary


def _global_norm(grads: dict[str, np.ndarray]) -> float:
    """‖g‖ of all gradients joined into one vector, without overflow in the squares."""
    with np.errstate(over="ignore"):
        plain = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
    if math.isfinite(plain) or not grads:
        return plain
    return float(l2norm(np.array([float(l2norm(g)) for g in grads.values()])))


def bptt_peak_bytes(steps: int, input_size: int, hidden: int) -> int:
    """Peak bytes of a BPTT stage from sizes alone: its forward run (a recurrent stage, its
    check included), the backward pass's seven (T, H) arrays and the gradients (held twice
    when clipped), and the PyTorch check (autograd keeps about four (T, H) tensors per step of
    graph, plus the weights' gradients)."""
    forward = recurrent_peak_bytes("rnn", steps, input_size, hidden)
    weights = hidden * (input_size + hidden + 2)
    backward = 8 * (7 * steps * hidden + 3 * steps + 2 * weights)
    check = 8 * (8 * steps * hidden + 2 * weights + steps * input_size)
    return forward + backward + check


@dataclass(frozen=True, eq=False, kw_only=True)
class BpttStep(Step):
    """One backward step: the gradient reaching a⟨t⟩ and how it is passed on to a⟨t−1⟩.

    ``value`` is ‖δ⟨t⟩‖. Time runs from t = 1 as in the course (a⟨0⟩ is the initial state):
    step 0 is t = T, the last step is t = 1.
    """

    t: int
    """The time step whose hidden state the gradient reaches, from 1 to T."""
    delta: np.ndarray  # (H,) δ⟨t⟩ = ∂L/∂a⟨t⟩, every path from a⟨t⟩ to L
    norm: float
    """‖δ⟨t⟩‖₂."""
    local: np.ndarray  # (H,) the loss's own term at t: a⟨t⟩ − y⟨t⟩, or zeros
    a: np.ndarray  # (H,) a⟨t⟩
    a_prev: np.ndarray  # (H,) a⟨t−1⟩ (the initial state a⟨0⟩ at t = 1)
    dtanh: np.ndarray  # (H,) 1 − a⟨t⟩², tanh's derivative at step t
    dz: np.ndarray  # (H,) δ⟨t⟩ ⊙ (1 − a⟨t⟩²) = ∂L/∂z⟨t⟩, z the tanh's input
    carry: np.ndarray  # (H,) W_aaᵀ·dz: what reaches a⟨t−1⟩ through W_aa
    grad_norms: dict[str, float]
    """‖∂L/∂θ‖ per parameter (PyTorch's names) summed over t' ≥ t, so far in the backward pass."""
    clip: dict[str, Any] | None
    """On the last step only (t = 1) when clipping is set: see ``clip_gradients``' summary."""


class BpttStage(Stage):
    """Backpropagation through time in one tanh RNN layer (``nn.RNN``), one step per time step,
    from the last to the first.

    Forward (``RecurrentStage`` with cell ``rnn``), t = 1 … T from a⟨0⟩::

        z⟨t⟩ = W_ax·x⟨t⟩ + b_ih + W_aa·a⟨t−1⟩ + b_hh,   a⟨t⟩ = tanh(z⟨t⟩)

    Loss, with targets y::

        last: L = ½‖a⟨T⟩ − y‖²          all: L = ½ Σ_t ‖a⟨t⟩ − y⟨t⟩‖²

    Backward, with e⟨t⟩ = ∂(the loss's own term)/∂a⟨t⟩ = a⟨t⟩ − y⟨t⟩ (zero before T for
    ``last``)::

        δ⟨T⟩ = e⟨T⟩
        δ⟨t−1⟩ = W_aaᵀ·(δ⟨t⟩ ⊙ (1 − a⟨t⟩²)) + e⟨t−1⟩
        ∂L/∂W_aa = Σ_t dz⟨t⟩·a⟨t−1⟩ᵀ,  ∂L/∂W_ax = Σ_t dz⟨t⟩·x⟨t⟩ᵀ,  ∂L/∂b = Σ_t dz⟨t⟩

    where dz⟨t⟩ = δ⟨t⟩ ⊙ (1 − a⟨t⟩²). Each step back multiplies by W_aaᵀ and by tanh's slope
    (≤ 1), so ‖δ⟨t⟩‖ shrinks geometrically when W_aa is small (vanishing gradients) and can grow
    when it is large (exploding).

    Args:
        x: the sequence, (T, input_size).
        hidden_size: H.
        weight_ih, weight_hh, bias_ih, bias_hh: as in ``RecurrentStage`` (cell ``rnn``).
        target: y, (H,) for ``last`` or (T, H) for ``all``.
        a0: the initial state (H,); zeros if None.
        loss: ``"last"`` or ``"all"``.
        clip: None, or ``("value" | "norm", threshold)``, applied to the summed gradients.

    Shape:
        output (T,): ‖δ⟨t⟩‖ in step order, t = T first. Arrays in time order have row
        t − 1 for time step t.
    """

    kind = "bptt"

    def __init__(
        self,
        x: np.ndarray,
        hidden_size: int,
        weight_ih: np.ndarray,
        weight_hh: np.ndarray,
        bias_ih: np.ndarray | None,
        bias_hh: np.ndarray | None,
        target: np.ndarray,
        a0: np.ndarray | None = None,
        loss: str = "last",
        clip: tuple[str, float] | None = None,
        name: str = "bptt",
    ) -> None:
        super().__init__(name)
        if loss not in LOSSES:
            raise SpecError("loss", f"expected one of {', '.join(LOSSES)}, got {loss!r}")
        self.forward = RecurrentStage(
            x, "rnn", hidden_size, weight_ih, weight_hh, bias_ih, bias_hh, a0=a0, name=name
        )
        fw = self.forward
        steps, h = len(fw), fw.hidden_size
        y = np.asarray(target, dtype=np.float64)
        expected = (h,) if loss == "last" else (steps, h)
        if y.shape != expected:
            raise SpecError(
                "target",
                f"expected shape {expected} for loss {loss!r} with hidden_size {h} over "
                f"{steps} steps, got {y.shape}",
            )
        if not np.all(np.isfinite(y)):
            raise SpecError("target", "values must be finite (no inf or nan)")
        self.loss_mode = loss
        self.target = y
        self.clip_spec = clip
        if clip is not None:
            clip_gradients({}, *clip)  # checks the mode and threshold before any work
        a = fw.output  # (T, H) a⟨1⟩ … a⟨T⟩
        a_prev = np.vstack([fw.a0[None], a[:-1]])  # (T, H) a⟨0⟩ … a⟨T−1⟩
        local = np.zeros((steps, h))  # (T, H) e⟨t⟩
        with np.errstate(over="ignore"):
            if loss == "last":
                local[-1] = a[-1] - y
            else:
                local[:] = a - y
            # ½‖e‖², with ‖e‖ computed without overflow: inf only when the loss itself is.
            e_norm = float(l2norm(local))
        self.loss_value = 0.5 * e_norm * e_norm  # a float product: inf, never an error
        if not math.isfinite(self.loss_value):
            # |a| < 1, so ½‖a − y‖² ≤ ½·n·(|y| + 1)² stays finite when every |y| is below this.
            bound = math.sqrt(FLOAT_MAX / local.size)
            raise SpecError(
                "target",
                f"the loss ½‖a − y‖² overflows float64 (|y| up to {float(np.abs(y).max()):.3g}); "
                f"targets within ±{bound:.3g} keep it finite",
            )
        w_aa = np.asarray(fw.weight_hh)
        dtanh = 1.0 - a**2  # (T, H)
        delta = np.zeros((steps, h))  # (T, H) δ⟨t⟩, time order
        dz = np.zeros((steps, h))
        carry = np.zeros((steps, h))
        running = np.zeros((steps, 3))  # ‖∂L/∂W_ax‖, ‖∂L/∂W_aa‖, ‖∂L/∂b‖ after step t
        g_ih = np.zeros_like(fw.weight_ih)  # (H, I)
        g_hh = np.zeros_like(w_aa)  # (H, H)
        g_b = np.zeros(h)  # (H,)
        back = np.zeros(h)  # what reaches a⟨t⟩ from a⟨t+1⟩
        with np.errstate(over="ignore", invalid="ignore"), one_blas_thread():
            for t in range(steps - 1, -1, -1):
                delta[t] = back + local[t]
                dz[t] = delta[t] * dtanh[t]
                carry[t] = w_aa.T @ dz[t]
                back = carry[t]
                g_ih += np.outer(dz[t], fw.x[t])
                g_hh += np.outer(dz[t], a_prev[t])
                g_b += dz[t]
                running[t] = [l2norm(g_ih), l2norm(g_hh), l2norm(g_b)]
        finite = all(np.isfinite(v).all() for v in (delta, dz, carry, running, g_ih, g_hh, g_b))
        if not finite:
            raise SpecError(
                "weights.weight_hh",
                "the gradient overflows float64 going back through time: use smaller recurrent "
                "weights (each step back multiplies δ by W_aaᵀ)",
            )
        self._a, self._a_prev, self._local = a, a_prev, local
        self._dtanh, self._delta, self._dz, self._carry = dtanh, delta, dz, carry
        self._running = running
        self.norms = l2norm(delta, axis=1)  # (T,) time order
        self.grad_a0 = carry[0]  # (H,) ∂L/∂a⟨0⟩
        self.gradients = {"weight_ih": g_ih, "weight_hh": g_hh, "bias_ih": g_b, "bias_hh": g_b}
        self.clipped: dict[str, np.ndarray] | None = None
        self.clip_summary: dict[str, Any] | None = None
        if clip is not None:
            self.clipped, self.clip_summary = clip_gradients(self.gradients, *clip)

    # -- derived -------------------------------------------------------------------------

    @property
    def hidden_size(self) -> int:
        return self.forward.hidden_size

    @property
    def weight_hh(self) -> np.ndarray:
        """W_aa, (H, H)."""
        return self.forward.weight_hh

    @property
    def deltas(self) -> np.ndarray:
        """δ⟨1⟩ … δ⟨T⟩ in time order, (T, H)."""
        return self._delta

    def series(self, name: str) -> np.ndarray:
        """One of the vectors a step shows, over the whole sequence in time order, (T, H):
        ``"delta"``, ``"dtanh"``, ``"dz"`` or ``"carry"`` (the BpttStep fields)."""
        arrays = {"delta": self._delta, "dtanh": self._dtanh, "dz": self._dz, "carry": self._carry}
        return arrays[name]

    @property
    def output(self) -> np.ndarray:
        """‖δ⟨t⟩‖ in step order (t = T first), (T,)."""
        return self.norms[::-1]

    def decay(self) -> float:
        """‖δ⟨1⟩‖ / ‖δ⟨T⟩‖: how much the gradient shrank (< 1) or grew (> 1) going back."""
        last = float(self.norms[-1])
        return float(self.norms[0]) / last if last else math.inf

    def time_of(self, i: int) -> int:
        """The time step t, from 1, that step ``i`` reaches (step 0 is t = T)."""
        return len(self) - self._normalise_index(i)

    # -- stepping ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.forward)

    def step(self, i: int) -> BpttStep:
        t = self.time_of(i)
        r = t - 1  # the row of the time-ordered arrays
        names = ("weight_ih", "weight_hh", "bias")
        norm = float(self.norms[r])
        return BpttStep(
            stage=self.name,
            index=len(self) - t,
            value=norm,
            explanation=self._explain(t, norm),
            t=t,
            delta=self._delta[r],
            norm=norm,
            local=self._local[r],
            a=self._a[r],
            a_prev=self._a_prev[r],
            dtanh=self._dtanh[r],
            dz=self._dz[r],
            carry=self._carry[r],
            grad_norms={k: float(v) for k, v in zip(names, self._running[r], strict=True)},
            clip=self.clip_summary if t == 1 else None,
        )

    def _explain(self, t: int, norm: float) -> str:
        prev = f"δ⟨{t - 1}⟩"
        text = f"t = {t}: ‖δ⟨{t}⟩‖ = {norm:.6g}; {prev} = W_aaᵀ·(δ⟨{t}⟩ ⊙ (1 − a⟨{t}⟩²))"
        if self.loss_mode == "all" and t > 1:
            text += f" + (a⟨{t - 1}⟩ − y⟨{t - 1}⟩)"
        return text

    # -- description and reference -------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        out = self.forward.describe()
        out["kind"] = self.kind
        out["name"] = self.name
        out["forward_output"] = out.pop("output")
        out["target"] = {"shape": list(self.target.shape), "values": self.target.tolist()}
        out["hyperparameters"]["loss"] = self.loss_mode
        if self.clip_spec is not None:
            mode, threshold = self.clip_spec
            out["hyperparameters"]["clip"] = {"mode": mode, "threshold": float(threshold)}
        out["loss"] = self.loss_value
        out["deltas"] = {"shape": list(self._delta.shape), "values": self._delta.tolist()}
        out["gradients"] = {k: v.tolist() for k, v in self.gradients.items()}
        if self.clipped is not None and self.clip_summary is not None:
            out["clipped_gradients"] = {k: v.tolist() for k, v in self.clipped.items()}
            out["clip"] = dict(self.clip_summary)
        out["output"] = {"shape": [len(self)], "values": self.output.tolist()}
        out["steps"] = len(self)
        out["step_order"] = ["t descending"]
        return out

    def reference(self) -> np.ndarray:
        """‖∂L/∂a⟨t⟩‖ from torch autograd, in step order (T,): t = T first."""
        return np.linalg.norm(self.reference_run()[0], axis=1)[::-1].copy()

    def reference_run(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """PyTorch's δ⟨t⟩ (T, H) in time order and parameter gradients by name.

        ``nn.RNN`` is run one time step at a time, its state fed back, so that each a⟨t⟩ is a
        tensor of its own whose ``.grad`` (kept with ``retain_grad``) is the whole ∂L/∂a⟨t⟩,
        every path through later steps included.
        """
        import torch

        module = self.forward.torch_module()
        x = torch.from_numpy(np.array(self.forward.x))[:, None]  # (T, 1, I)
        state = torch.from_numpy(np.array(self.forward.a0))[None, None]  # (1, 1, H)
        y = torch.from_numpy(np.array(self.target))
        hs = []
        for t in range(len(self)):
            _, state = module(x[t : t + 1], state)
            state.retain_grad()
            hs.append(state)
        a = torch.stack([s[0, 0] for s in hs])  # (T, H)
        if self.loss_mode == "last":
            loss = 0.5 * ((a[-1] - y) ** 2).sum()
        else:
            loss = 0.5 * ((a - y) ** 2).sum()
        loss.backward()
        deltas = np.array([s.grad[0, 0].numpy() for s in hs])  # type: ignore[union-attr]
        grads = {name: getattr(module, f"{name}_l0").grad.numpy().copy() for name in PARAMETERS}
        return deltas, grads

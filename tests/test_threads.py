"""engine.threads: BLAS held to one thread inside recurrent loops, and given back after."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from engine.recurrent import RecurrentStage, seeded_weights
from engine.threads import one_blas_thread


def blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def two_blas_threads():
    """Start each test from two BLAS threads, whatever the machine's default."""
    if not blas_threads():
        pytest.skip("NumPy's BLAS is not one threadpoolctl can control")
    with threadpool_limits(limits=2, user_api="blas"):
        yield


def test_limits_inside_and_restores_after(two_blas_threads: None) -> None:
    before = blas_threads()
    with one_blas_thread():
        assert set(blas_threads()) == {1}
    assert blas_threads() == before


def test_nested_blocks_restore_only_at_the_outermost_exit(two_blas_threads: None) -> None:
    before = blas_threads()
    with one_blas_thread():
        with one_blas_thread():
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {1}  # the inner exit must not give the threads back yet
    assert blas_threads() == before


def test_restores_after_an_exception(two_blas_threads: None) -> None:
    before = blas_threads()
    with pytest.raises(RuntimeError), one_blas_thread():
        raise RuntimeError("boom")
    assert blas_threads() == before


def test_blocks_in_several_threads_leave_the_setting_as_found(two_blas_threads: None) -> None:
    before = blas_threads()
    w = seeded_weights("lstm", 4, 8, 0)
    x = np.random.default_rng(0).normal(size=(30, 4))
    errors: list[BaseException] = []

    def build() -> None:
        try:
            for _ in range(20):
                RecurrentStage(
                    x, "lstm", 8, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"]
                )
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    workers = [threading.Thread(target=build) for _ in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors
    assert blas_threads() == before


def test_a_recurrent_build_runs_its_loop_on_one_blas_thread(
    two_blas_threads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[int]] = []
    real = np.tanh

    def spy(*args, **kwargs):  # np.tanh is called inside the time loop
        seen.append(blas_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(np, "tanh", spy)
    w = seeded_weights("rnn", 3, 5, 0)
    RecurrentStage(
        np.ones((4, 3)), "rnn", 5, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"]
    )
    assert seen and all(set(s) == {1} for s in seen)

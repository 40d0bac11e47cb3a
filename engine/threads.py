"""One BLAS thread for loops of small products.

A recurrent stage takes one matrix-vector product per time step (512 × 128 for an LSTM of
hidden size 128). Work that small gains nothing from a second BLAS thread, and loses a lot when
the second thread is not running at once: OpenBLAS splits each product between its threads and
waits for both, so with the other core busy (PyTorch's own thread pool, a test run, the
terminal) every step waits for a time slice. On a two-core machine with one core busy the same
LSTM build took 14 ms with two BLAS threads and 1.8 ms with one. ``one_blas_thread`` holds BLAS
to one thread for the length of such a loop and gives the setting back after.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_depth = 0
_saved: Any = None


@functools.cache
def _blas() -> Any:
    """The BLAS libraries NumPy loaded, found once (threadpoolctl scans the loaded libraries)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the body with BLAS limited to one thread; nests, and is safe from several threads
    (the outermost entry sets the limit, the last exit restores what was there before)."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = _blas().limit(limits=1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _saved.restore_original_limits()
                _saved = None

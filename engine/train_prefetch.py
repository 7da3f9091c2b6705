"""Story-world batches rendered ahead of the training step, in worker processes.

On a GPU the tiny transformer trains a batch faster than one CPU core samples and renders it,
so the renders of the coming fresh batches run in a pool of processes while the device trains.
An order (engine.train_steps.WorldOrder) fixes its batch, so a worker renders exactly what the
training process would have: the workers change the speed, not the run.
"""

from __future__ import annotations

import multiprocessing
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import torch

from engine.request import EngineError
from engine.train_steps import WorldOrder, render_world

_PICTURES = ("video", "previous", "references")


def _start_worker() -> None:
    torch.set_num_threads(1)  # one core each: the pool is the parallelism
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the training process's to handle


def _render_in_worker(cfg, order: WorldOrder):
    batch = render_world(cfg, order, "cpu")
    # numpy arrays travel through the pipe as plain bytes (no shared-memory file handles)
    for name in _PICTURES:
        t = getattr(batch, name)
        setattr(batch, name, None if t is None else t.numpy())
    return batch


class WorldPrefetcher:
    """A pool of `workers` processes; `order(key, order)` starts a render, `take(key)` waits
    for it (None if it was never ordered)."""

    def __init__(self, cfg, workers: int):
        self.cfg, self.workers = cfg, workers
        self._pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker
        )
        self.pending: dict[int, Future] = {}

    def order(self, key: int, order: WorldOrder) -> None:
        if key not in self.pending:
            self.pending[key] = self._pool.submit(_render_in_worker, self.cfg, order)

    def take(self, key: int):
        future = self.pending.pop(key, None)
        if future is None:
            return None
        try:
            batch = future.result()
        except BrokenProcessPool as e:
            raise EngineError(
                f"a data worker process died ({e}): train with fewer data_workers, or none"
            ) from None
        for name in _PICTURES:
            a = getattr(batch, name)
            setattr(batch, name, None if a is None else torch.from_numpy(np.asarray(a)))
        return batch

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.pending.clear()

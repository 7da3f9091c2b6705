"""The coming fresh batches prepared in a thread while the device trains on the current one.

On a GPU the batch's side of a step (waiting for the workers' renders, then the world's
pictures to the device, the autoencoder's encoding, the prompts) took about as long as the
transformer's step in the 2026-12-04 lease (data_s 0.07-0.10 s against model_s 0.08-0.09 s a
step), and it ran before the step, not beside it, though neither fills the chip. Here it runs
in one thread on a CUDA stream of its own, so its waits and kernels can overlap the step's.

A prepared batch is a pure function of its source step (engine.train_steps.Prepared), so this
changes when a batch is made, not what it is: a run with it has the losses of a run without.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import fields

import torch
from torch import Tensor


def _tensors(prepared) -> list[Tensor]:
    """Every tensor a Prepared holds (its context's too)."""
    out: list[Tensor] = []

    def add(v):
        if isinstance(v, Tensor):
            out.append(v)
        elif isinstance(v, list | tuple):
            for x in v:
                add(x)
        elif hasattr(v, "__dataclass_fields__"):
            for f in fields(v):
                add(getattr(v, f.name))

    add(prepared)
    return out


class BatchesAhead:
    """`order(key, make)` starts `make()` in the preparing thread; `take(key)` waits for its
    result and hands it to the calling thread's stream. `prepare_s` sums how long the thread
    spent preparing (its stream finished), for the log."""

    def __init__(self, device: torch.device):
        self.device = device
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="storyloom-prepare")
        self._stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        self.pending: dict[int, Future] = {}
        self._lock = threading.Lock()
        self.prepare_s = 0.0
        self.prepared = 0

    def order(self, key: int, make: Callable[[], object]) -> None:
        if key not in self.pending:
            self.pending[key] = self._pool.submit(self._run, make)

    def _run(self, make: Callable[[], object]):
        t = time.perf_counter()
        if self._stream is None:
            result, done = make(), None
        else:
            with torch.cuda.stream(self._stream):
                result = make()
                done = torch.cuda.Event()
                done.record(self._stream)
            self._stream.synchronize()  # blocks this thread only: its time is the batch's
        with self._lock:
            self.prepare_s += time.perf_counter() - t
            self.prepared += 1
        return result, done

    def take(self, key: int):
        """The batch ordered under `key` (None if it never was), safe to use on this thread's
        current stream."""
        future = self.pending.pop(key, None)
        if future is None:
            return None
        result, done = future.result()  # re-raises the preparing thread's error here
        if done is not None:
            stream = torch.cuda.current_stream(self.device)
            stream.wait_event(done)
            for t in _tensors(result):
                if t.device.type == "cuda":
                    # its memory must not be reused by the preparing stream while this one reads
                    t.record_stream(stream)
        return result

    def timing(self) -> tuple[float, int]:
        """(seconds spent preparing, batches prepared) since the last call."""
        with self._lock:
            out = (self.prepare_s, self.prepared)
            self.prepare_s, self.prepared = 0.0, 0
        return out

    def close(self) -> None:
        for f in self.pending.values():
            f.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.pending.clear()

"""The master bus: peak normalisation and a look-ahead limiter, streamed block by block.

The limiter's gain at each sample is the mean over +-L samples of the minimum over +-L samples
of the gain that sample needs (ceiling / peak). Every sample then gets at most the gain it
needs, so nothing exceeds the ceiling, and the gain eases down L samples before a peak and back
up L after it instead of clicking. Blocks are processed with L*2 samples of context on each side
so the result is the same as processing the whole mix at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

LOOKAHEAD_S = 0.005


def db_to_gain(db: float) -> float:
    return float(10 ** (db / 20))


def min_filter(a: np.ndarray, width: int) -> np.ndarray:
    """Centred running minimum of 1-D `a` over `width` (odd) samples (van Herk/Gil-Werman)."""
    r = width // 2
    n = a.shape[0]
    pad_end = r + (-(n + 2 * r) % width)
    p = np.pad(a, (r, pad_end), constant_values=np.inf)
    blocks = p.reshape(-1, width)
    prefix = np.minimum.accumulate(blocks, axis=1).ravel()
    suffix = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(suffix[:n], prefix[width - 1 : width - 1 + n])


def box_mean(a: np.ndarray, width: int) -> np.ndarray:
    """Centred running mean of 1-D `a` over `width` (odd) samples, edges padded with the edge."""
    r = width // 2
    p = np.pad(a.astype(np.float64), (r + 1, r), mode="edge")
    c = np.cumsum(p)
    return ((c[width:] - c[:-width]) / width).astype(np.float32)


def limiter_gain(x: np.ndarray, ceiling: float, lookahead: int) -> np.ndarray:
    """(n, 2) -> (n,) gains with |x * gain| <= ceiling everywhere."""
    peak = np.abs(x).max(axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12)).astype(np.float32)
    if need.min() >= 1.0:
        return need
    w = 2 * lookahead + 1
    return np.minimum(box_mean(min_filter(need, w), w), need)


def normalise_gain(peak: float, target_db: float | None, max_boost_db: float) -> float:
    """The gain that puts the mix's peak at `target_db` (no more than `max_boost_db` up)."""
    if target_db is None or peak <= 0:
        return 1.0
    return min(db_to_gain(target_db) / peak, db_to_gain(max_boost_db))


def master(
    blocks: Iterable[np.ndarray], gain: float, ceiling_db: float, rate: int
) -> Iterator[np.ndarray]:
    """Apply `gain` then the limiter to a stream of (n, 2) blocks; yields blocks of the same
    sizes one block later (the limiter looks ahead into the next block)."""
    ceiling = db_to_gain(ceiling_db)
    look = max(1, round(LOOKAHEAD_S * rate))
    ctx = 2 * look
    tail = np.zeros((0, 2), np.float32)
    cur: np.ndarray | None = None
    for nxt in _with_end(_scaled(blocks, gain)):
        if cur is not None:
            head = nxt[:ctx] if nxt is not None else np.zeros((0, 2), np.float32)
            window = np.concatenate([tail, cur, head])
            g = limiter_gain(window, ceiling, look)[len(tail) : len(tail) + len(cur)]
            yield cur * g[:, None]
            tail = np.concatenate([tail, cur])[-ctx:]
        cur = nxt


def _scaled(blocks: Iterable[np.ndarray], gain: float) -> Iterator[np.ndarray]:
    for b in blocks:
        yield b * np.float32(gain) if gain != 1.0 else b


def _with_end(it: Iterator[np.ndarray]) -> Iterator[np.ndarray | None]:
    yield from it
    yield None

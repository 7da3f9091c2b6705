"""Content-addressed media inside the project file.

An asset's bytes are split into CHUNK_SIZE rows of `asset_chunks`, keyed by the SHA-256 of the
whole, so importing the same file twice stores it once. Reading streams one chunk at a time
(`AssetReader` is a seekable file object PyAV can open directly); `materialise` writes a copy to
the user cache directory for players that want a path, once per content hash.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Connection, insert, select

from .media import MediaInfo
from .models import Asset, AssetChunk

CHUNK_SIZE = 1 << 20  # 1 MiB: small enough to stream, large enough to keep row count low

ChunkFetch = Callable[[int, int], bytes]  # (asset_id, idx) -> chunk bytes


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK_SIZE):
            h.update(block)
    return h.hexdigest()


def find_by_hash(conn: Connection, sha: str) -> tuple[int, str] | None:
    """(asset id, kind) of the stored asset with these bytes, if any."""
    row = conn.execute(select(Asset.id, Asset.kind).where(Asset.sha256 == sha)).first()
    return (int(row[0]), row[1]) if row else None


def store(
    conn: Connection, source: Path | bytes, info: MediaInfo, original_name: str, sha: str
) -> int:
    """Insert an asset and its chunks (inside the caller's transaction); dedupe by `sha`."""
    existing = find_by_hash(conn, sha)
    if existing is not None:
        return existing[0]
    stream = source.open("rb") if isinstance(source, Path) else io.BytesIO(source)
    with stream:
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
        asset_id = conn.execute(
            insert(Asset).values(
                sha256=sha,
                kind=info.kind,
                original_name=original_name,
                format=info.format,
                size_bytes=size,
                chunk_size=CHUNK_SIZE,
                duration=info.duration,
                width=info.width,
                height=info.height,
                fps=info.fps,
                sample_rate=info.sample_rate,
                channels=info.channels,
                thumbnail=info.thumbnail,
                waveform=info.waveform,
                created_at=time.time(),
            )
        ).inserted_primary_key[0]
        idx = 0
        while block := stream.read(CHUNK_SIZE):
            conn.execute(insert(AssetChunk).values(asset_id=asset_id, idx=idx, data=block))
            idx += 1
    return int(asset_id)


class AssetReader(io.RawIOBase):
    """A read-only, seekable file object over an asset's chunks; holds one chunk at a time."""

    def __init__(self, fetch: ChunkFetch, asset_id: int, size: int, chunk_size: int) -> None:
        self._fetch, self._id, self._size, self._chunk = fetch, asset_id, size, chunk_size
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size:
            idx, off = divmod(self._pos, self._chunk)
            if self._cached is None or self._cached[0] != idx:
                self._cached = (idx, self._fetch(self._id, idx))
            data = self._cached[1]
            n = min(len(view) - done, len(data) - off)
            if n <= 0:
                break
            view[done : done + n] = data[off : off + n]
            done += n
            self._pos += n
        return done


def iter_chunks(fetch: ChunkFetch, asset_id: int, size: int, chunk_size: int) -> Iterator[bytes]:
    for idx in range((size + chunk_size - 1) // chunk_size):
        yield fetch(asset_id, idx)


def materialise(chunks: Iterator[bytes], cache_dir: Path, sha: str, suffix: str, size: int) -> Path:
    """Write the asset to `cache_dir/sha+suffix` (atomically, once) and return the path."""
    target = cache_dir / f"{sha}{suffix}"
    if target.exists() and target.stat().st_size == size:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as f:
            for block in chunks:
                f.write(block)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target

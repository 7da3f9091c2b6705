"""A folder of the user's own captioned videos and images becomes training batches."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
import torch

from engine.data.folder import FolderDataError, make_folder_batches, scan_folder


def _write_video(path, frames: np.ndarray, fps: int) -> None:
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=Fraction(fps))
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for f in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)


def _ramp(n: int, h: int, w: int) -> np.ndarray:
    """Frames whose brightness encodes their index (10 levels a frame)."""
    return np.stack([np.full((h, w, 3), 20 + 10 * i, np.uint8) for i in range(n)])


@pytest.fixture
def folder(tmp_path):
    _write_video(tmp_path / "wide.mp4", _ramp(24, 72, 128), 24)  # 1 s at 24 fps, 16:9
    (tmp_path / "wide.txt").write_text("a grey screen getting brighter\n")
    sub = tmp_path / "more"
    sub.mkdir()
    _write_video(sub / "tall.mp4", _ramp(12, 128, 64), 12)  # portrait
    (sub / "tall.txt").write_text("a tall clip")
    img = np.zeros((50, 80, 3), np.uint8)
    img[:, :40] = (255, 0, 0)  # left half red (RGB)
    cv2.imwrite(str(tmp_path / "still.png"), img[..., ::-1])
    (tmp_path / "still.txt").write_text("half red")
    _write_video(tmp_path / "uncaptioned.mp4", _ramp(4, 32, 32), 8)  # no .txt: skipped
    return tmp_path


def test_scan_finds_captioned_media_only(folder):
    items = scan_folder(folder)
    names = sorted(i.path.name for i in items)
    assert names == ["still.png", "tall.mp4", "wide.mp4"]
    wide = next(i for i in items if i.path.name == "wide.mp4")
    assert (wide.width, wide.height) == (128, 72) and wide.duration == pytest.approx(1.0, abs=0.1)


def test_batches_are_resized_to_the_nearest_bucket_and_sampled_at_the_fps(folder):
    buckets = [(64, 36), (32, 64)]
    batches = list(make_folder_batches(folder, 4, 5, 12, buckets=buckets, seed=1, epochs=1))
    by_caption = {c: (b, i) for b in batches for i, c in enumerate(b.captions)}
    assert set(by_caption) == {"a grey screen getting brighter", "a tall clip", "half red"}
    b, i = by_caption["a grey screen getting brighter"]
    assert b.video.shape[1:] == (5, 36, 64, 3) and b.video.dtype == torch.float32
    levels = (b.video[i].mean(dim=(1, 2, 3)) * 255).numpy()
    assert np.allclose(np.diff(levels), 20, atol=4)  # 24 fps source at 12 fps: every other frame
    b, i = by_caption["a tall clip"]
    assert b.video.shape[1:] == (5, 64, 32, 3)
    b, i = by_caption["half red"]
    assert b.video.shape[1:] == (1, 36, 64, 3)
    img = b.video[i, 0].numpy()
    assert img[:, :28, 0].mean() > 0.9 and img[:, 36:, 0].mean() < 0.1


def test_same_seed_same_batches(folder):
    a = list(make_folder_batches(folder, 2, 3, 12, buckets=[(64, 36)], seed=5, epochs=2))
    b = list(make_folder_batches(folder, 2, 3, 12, buckets=[(64, 36)], seed=5, epochs=2))
    assert [x.captions for x in a] == [x.captions for x in b]
    assert all(torch.equal(x.video, y.video) for x, y in zip(a, b, strict=True))


def test_an_empty_or_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FolderDataError, match="no captioned"):
        scan_folder(tmp_path)
    with pytest.raises(FolderDataError, match="does not exist"):
        scan_folder(tmp_path / "nope")


def test_a_sampled_batch_is_a_pure_function_of_its_seed(folder):
    from engine.data.folder import sample_folder_batch

    items = scan_folder(folder)
    a = sample_folder_batch(items, 3, 64, 36, 5, 12.0, seed=4)
    b = sample_folder_batch(items, 3, 64, 36, 5, 12.0, seed=4)
    assert a.video.shape == (3, 5, 36, 64, 3) and a.captions == b.captions
    assert torch.equal(a.video, b.video)
    assert "half red" not in a.captions  # a moving bucket takes videos only
    stills = sample_folder_batch(items, 8, 64, 36, 1, 12.0, seed=1)
    assert stills.video.shape[1] == 1 and "half red" in stills.captions


def test_the_transformer_trains_on_a_folder_and_resumes_exactly(folder, tmp_path):
    import json

    from engine.train import run
    from tests.engine.test_train import assert_dit_resumes_exactly, tiny_config

    (folder / "uncaptioned.mp4").unlink()
    cfg = tiny_config(data_folder=str(folder), folder_share=0.5, replay_ratio=0)
    a = tmp_path / "a"
    run(cfg, a, "vae", 5, False, "cpu")
    la = assert_dit_resumes_exactly(cfg, a, stop_at=4)
    assert all(np.isfinite(v) for v in la.values())
    saved = json.loads((a / "train_config.json").read_text())
    assert saved["data_folder"] == str(folder)  # the recipe records where its data came from


def test_train_cli_refuses_a_missing_data_folder(tmp_path, capsys):
    from engine.cli import main

    cfg = tmp_path / "cfg.json"
    cfg.write_text('{"name": "x", "dit": "test"}')
    assert main(["train", "--config", str(cfg), "--data", str(tmp_path / "nope")]) == 2
    assert "data folder not found" in capsys.readouterr().err

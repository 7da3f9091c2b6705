"""Media inside the file: validated on import, content-addressed, chunked and streamed, with
thumbnails and waveform summaries, and complete when the project is copied elsewhere."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3

import av
import cv2
import numpy as np
from media_files import make_wav

from app.project import AddAudioClip, AddElement, AddScene, Project
from app.project.assets import CHUNK_SIZE


def _decode_audio(src) -> np.ndarray:  # type: ignore[no-untyped-def]
    with av.open(src) as box:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in box.decode(audio=0)])


def test_same_file_is_stored_once(project_file, media, tmp_path):
    copy = tmp_path / "same-bytes-other-name.png"
    shutil.copy(media.png, copy)
    with Project.open(project_file) as p:
        p.execute(AddElement(name="A", images=[media.png, copy]))
        p.execute(AddScene(prompt="x", image=media.png))
        (a,) = p.elements()
        assert a.image_asset_ids[0] == a.image_asset_ids[1] == p.scenes()[0].image_asset_id
    db = sqlite3.connect(project_file)
    assert db.execute("SELECT count(*) FROM assets").fetchone()[0] == 1
    db.close()


def test_large_audio_is_chunked_and_streams_back_identically(project_file, tmp_path):
    big = make_wav(tmp_path / "long.wav", seconds=100, rate=16000)  # 3.2 MB
    with Project.open(project_file, cache_dir=tmp_path / "cache") as p:
        clip = p.execute(AddAudioClip(path=big))
        asset_id = p.audio_tracks()[0].clips[0].asset_id
        assert clip == p.audio_tracks()[0].clips[0].id
        a = p.asset(asset_id)
        assert a.size_bytes == big.stat().st_size and a.size_bytes > 3 * CHUNK_SIZE
        assert (a.kind, a.sample_rate, a.channels) == ("audio", 16000, 1)
        assert abs(a.duration - 100) < 0.01
        h = hashlib.sha256()
        for chunk in p.iter_asset(asset_id):
            assert len(chunk) <= CHUNK_SIZE
            h.update(chunk)
        assert h.hexdigest() == a.sha256 == hashlib.sha256(big.read_bytes()).hexdigest()
        with p.open_asset(asset_id) as reader:  # PyAV reads straight from the file object
            assert np.array_equal(_decode_audio(reader), _decode_audio(str(big)))
        path = p.asset_path(asset_id)
        assert path.read_bytes() == big.read_bytes() and path.parent == tmp_path / "cache"
    db = sqlite3.connect(project_file)
    assert db.execute("SELECT count(*) FROM asset_chunks").fetchone()[0] == 4
    db.close()


def test_previews_thumbnail_and_waveform(project_file, media, tmp_path):
    silent_then_loud = tmp_path / "sl.wav"
    make_wav(silent_then_loud, seconds=1.0)
    with Project.open(project_file) as p:
        p.execute(AddScene(prompt="x", image=media.png))
        p.execute(AddAudioClip(path=media.wav))
        img = p.scenes()[0].image_asset_id
        thumb, wave_ = p.asset_previews(img)
        t = cv2.imdecode(np.frombuffer(thumb, np.uint8), cv2.IMREAD_COLOR)
        assert t.shape[:2] == (48, 64) and wave_ is None
        sid = p.scenes()[0].id
        take = p.add_take(sid, media.mp4, {"seed": 1})
        v = p.asset(p.take(take).asset_id)
        assert (v.kind, v.width, v.height, v.fps) == ("video", 64, 48, 12.0)
        assert abs(v.duration - 0.5) < 1e-6
        assert p.asset_previews(v.id)[0][:2] == b"\xff\xd8"  # JPEG
        aud = p.audio_tracks()[0].clips[0].asset_id
        peaks = np.frombuffer(p.asset_previews(aud)[1], np.uint8)
        assert 0 < peaks.size <= 512 and peaks.max() > 80  # a 12000/32768 sine peaks near 93


def test_copied_project_shows_all_media(project_file, media, tmp_path):
    originals = {}
    with Project.open(project_file) as p:
        p.execute(AddElement(name="Mara", images=[media.png2]))
        sid = p.execute(AddScene(prompt="@Mara", image=media.png))
        p.execute(AddAudioClip(path=media.wav))
        p.add_take(sid, media.mp4, {"model": "tiny"})
    for f in (media.png, media.png2, media.wav, media.mp4):
        originals[hashlib.sha256(f.read_bytes()).hexdigest()] = f.name
    elsewhere = tmp_path / "other" / "machine"
    elsewhere.mkdir(parents=True)
    moved = elsewhere / "film.storyloom"
    shutil.copy(project_file, moved)
    shutil.rmtree(media.png.parent)  # the original media are gone
    with Project.open(moved, cache_dir=tmp_path / "cache2") as p:
        (entry,) = p.timeline()
        seen = {}
        for aid in (
            entry.scene.image_asset_id,
            p.elements()[0].image_asset_ids[0],
            p.audio_tracks()[0].clips[0].asset_id,
            entry.video.id,
        ):
            data = p.asset_path(aid).read_bytes()
            seen[hashlib.sha256(data).hexdigest()] = p.asset(aid).original_name
        with av.open(p.open_asset(entry.video.id)) as box:
            assert sum(1 for _ in box.decode(video=0)) == 6
    assert seen.keys() == originals.keys()
    db = sqlite3.connect(moved)
    text = "\n".join(
        str(r)
        for t in ("scenes", "assets", "takes", "audio_clips", "element_images")
        for r in db.execute(f"SELECT * FROM {t}")
    )
    db.close()
    assert str(tmp_path) not in text  # no absolute path is stored anywhere

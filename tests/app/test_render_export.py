"""Export: picture, formats, presets, provenance and safe writing, on real project files with
every output decoded back through PyAV."""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from render_media import (
    add_audio,
    build_project,
    decode_audio,
    decode_video,
    make_video,
    make_wav,
    tone,
)

from app.project import AddScene, Project
from app.render import (
    PRESETS,
    Cue,
    ExportCancelled,
    RenderError,
    RenderSettings,
    Transition,
    export_film,
    read_recipe,
    restorable,
    sidecar_path,
)

RED, BLUE, GREEN = (230, 20, 20), (20, 20, 230), (20, 200, 20)
FAST = dict(speed="ultrafast")


def _no_partials(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if ".partial" in p.name]


def test_mp4_has_h264_aac_faststart_and_is_as_long_as_its_scenes(tmp_path: Path) -> None:
    durations = [1.0, 0.75, 1.3]
    p, ids = build_project(
        tmp_path / "f.storyloom",
        tmp_path / "m",
        [(d, c) for d, c in zip(durations, (RED, BLUE, GREEN), strict=True)],
    )
    with p:
        make_wav(tmp_path / "m" / "tone.wav", tone(2.0, 0.4))
        add_audio(p, tmp_path / "m" / "tone.wav", start=0.5)
        out = tmp_path / "film.mp4"
        result = export_film(p, out, RenderSettings(**FAST))
    frames, stream, fps = decode_video(out)
    assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
    assert (stream.codec_context.width, stream.codec_context.height) == (160, 90)
    assert fps == 24
    assert abs(len(frames) / fps - sum(durations)) <= 1 / fps
    assert result.frames == len(frames)
    with av.open(str(out)) as box:
        assert box.streams.audio[0].codec_context.name == "aac"
    sound = decode_audio(out)
    assert abs(len(sound) / 48_000 - len(frames) / fps) <= 1 / fps
    assert 0.5 < np.abs(sound).max() < 1.0  # normalised near -1 dBFS, not clipped
    data = out.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # +faststart: plays while downloading
    _no_partials(tmp_path)


def test_recipe_is_in_the_file_and_the_sidecar_and_reads_back(tmp_path: Path) -> None:
    p, ids = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(0.5, RED), (0.5, BLUE)])
    with p:
        out = tmp_path / "film.mp4"
        export_film(p, out, RenderSettings(**FAST))
    with av.open(str(out)) as box:
        meta = dict(box.metadata)
    assert meta["title"] == "Render test"
    assert "Made with Storyloom" in meta["comment"] and "test-model" in meta["comment"]
    recipe = read_recipe(out)
    assert recipe is not None
    assert recipe["models"] == [{"id": "test-model", "hash": "abc123"}]
    assert [s["prompt"] for s in recipe["scenes"]] == ["scene 0", "scene 1"]
    assert [s["seed"] for s in recipe["scenes"]] == [0, 1]
    assert recipe["scenes"][1]["take"]["recipe"]["seed"] == 1
    assert sidecar_path(out).is_file()
    out.with_name("copy.gif").write_bytes(b"")  # not ours: no recipe
    assert read_recipe(out.with_name("copy.gif")) is None
    # a clip straight from the engine carries its take's recipe in its comment
    clip = make_video(tmp_path / "engine.mp4", RED, 0.25)
    with av.open(str(clip)) as src, av.open(str(tmp_path / "tagged.mp4"), "w") as dst:
        dst.metadata["comment"] = '{"model": "storyloom-tiny", "prompt": "a fox", "seed": 3}'
        s_in = src.streams.video[0]
        s_out = dst.add_stream_from_template(s_in)
        for packet in src.demux(s_in):
            if packet.dts is not None:
                packet.stream = s_out
                dst.mux(packet)
    assert read_recipe(tmp_path / "tagged.mp4")["take_recipe"]["seed"] == 3
    # what "restore recipe" makes of them: the film's scenes with their takes' seeds; the clip's
    # one scene; values of the wrong type from someone else's file are dropped, not trusted
    scenes, _ = restorable(recipe)
    assert [(s.prompt, s.seed, s.duration) for s in scenes] == [
        ("scene 0", 0, 0.5),
        ("scene 1", 1, 0.5),
    ]
    (one,), _ = restorable(read_recipe(tmp_path / "tagged.mp4"))
    assert (one.prompt, one.seed) == ("a fox", 3)
    hostile = {
        "scenes": [
            {"prompt": "ok", "seed": "1; DROP", "duration": -4, "elements": [3, "A"]},
            {"prompt": 7},
            "junk",
        ],
        "elements": [{"name": None}, {"name": "A"}],
    }
    scenes, elements = restorable(hostile)
    assert [(s.prompt, s.seed, s.duration, s.elements) for s in scenes] == [
        ("ok", None, 2.0, ("A",))
    ]
    assert [e["name"] for e in elements] == ["A"]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_has_its_frame_size(tmp_path: Path, name: str) -> None:
    p, _ = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(0.25, RED)], size=(200, 150))
    with p:
        out = tmp_path / "p.mp4"
        export_film(p, out, RenderSettings(preset=name, **FAST))
    frames, stream, _ = decode_video(out)
    expected = {
        "web-1080p": (1920, 1080),
        "web-720p": (1280, 720),
        "vertical": (1080, 1920),
        "square": (1080, 1080),
        "draft": (640, 480),
        "native": (200, 150),
    }[name]
    assert frames[0].shape[1::-1] == expected


@pytest.mark.parametrize(
    ("name", "fmt", "video", "audio"),
    [
        ("h.mp4", "hevc", "hevc", "aac"),
        ("w.webm", None, "vp9", "opus"),
        ("g.gif", None, "gif", None),
        ("a.wav", None, None, "pcm_s16le"),
    ],
)
def test_other_formats_have_their_codecs(tmp_path: Path, name, fmt, video, audio) -> None:
    p, _ = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(0.5, RED), (0.5, BLUE)])
    with p:
        make_wav(tmp_path / "m" / "t.wav", tone(1.0, 0.3))
        add_audio(p, tmp_path / "m" / "t.wav")
        out = tmp_path / name
        export_film(p, out, RenderSettings(format=fmt, **FAST))
    with av.open(str(out)) as box:
        got_v = box.streams.video[0].codec_context.name if box.streams.video else None
        got_a = box.streams.audio[0].codec_context.name if box.streams.audio else None
        dur = box.duration / av.time_base
    assert (got_v, got_a) == (video, audio)
    assert abs(dur - 1.0) <= 1 / 12 + 1e-6  # a GIF preview runs at 12 fps


def test_png_sequence_is_a_folder_of_every_frame(tmp_path: Path) -> None:
    p, _ = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(0.5, RED)])
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "stale.png").write_bytes(b"from before")
    with p:
        export_film(p, tmp_path / "frames", RenderSettings(format="png"))
    files = sorted((tmp_path / "frames").iterdir())  # the folder was replaced as a whole
    assert len(files) == 12 and files[0].name == "frame_000001.png"
    with av.open(str(files[0])) as box:
        img = next(box.decode(video=0)).to_ndarray(format="rgb24")
    assert np.abs(img[45, 80].astype(int) - RED).max() < 8


def _png_frames(p, tmp_path: Path, settings: RenderSettings) -> list[np.ndarray]:
    export_film(p, tmp_path / "seq", settings)
    out = []
    for f in sorted((tmp_path / "seq").iterdir()):
        with av.open(str(f)) as box:
            out.append(next(box.decode(video=0)).to_ndarray(format="rgb24").astype(float))
    return out


@pytest.mark.parametrize("kind", ["cut", "crossfade", "fade"])
def test_transitions_blend_the_two_neighbours(tmp_path: Path, kind: str) -> None:
    p, ids = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(1.0, RED), (1.0, BLUE)])
    with p:
        t = Transition(kind, 0.5)
        frames = _png_frames(p, tmp_path, RenderSettings(format="png", transitions={ids[1]: t}))
    assert len(frames) == 48
    red, blue = frames[0][45, 80], frames[-1][45, 80]
    if kind == "cut":
        assert np.abs(frames[23][45, 80] - red).max() < 3
        assert np.abs(frames[24][45, 80] - blue).max() < 3
        return
    first, d = 24 - 6, 12  # 0.5 s = 12 frames centred on the cut at frame 24
    for k in range(d):
        a = (k + 0.5) / d  # the blend at the middle of frame k of the window
        if kind == "crossfade":
            want = (1 - a) * red + a * blue
        else:
            want = red * (1 - 2 * a) if a < 0.5 else blue * (2 * a - 1)
        assert np.abs(frames[first + k][45, 80] - want).max() <= 3, (k, frames[first + k][45, 80])
    assert np.abs(frames[first - 1][45, 80] - red).max() < 3
    assert np.abs(frames[first + d][45, 80] - blue).max() < 3


def test_fit_letterboxes_and_fill_crops(tmp_path: Path) -> None:
    # a 4:3 take in a 16:9 project: pillarboxed by fit, cropped to fill by fill
    p, _ = build_project(
        tmp_path / "f.storyloom",
        tmp_path / "m",
        [(0.25, GREEN)],
        size=(160, 90),
        take_size=(120, 90),
    )
    with p:
        fit = _png_frames(p, tmp_path, RenderSettings(format="png", fit="fit"))[0]
        fill = _png_frames(p, tmp_path, RenderSettings(format="png", fit="fill"))[0]
    assert fit[45, 5].max() < 4 and fit[45, 154].max() < 4  # black bars left and right
    assert np.abs(fit[45, 80] - GREEN).max() < 8
    assert np.abs(fill[45, 2] - GREEN).max() < 8 and np.abs(fill[45, 157] - GREEN).max() < 8


def test_scene_without_take_is_a_placeholder_card_or_refused(tmp_path: Path) -> None:
    p, ids = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(0.5, RED), (0.5, None)])
    with p:
        frames = _png_frames(p, tmp_path, RenderSettings(format="png"))
        card = frames[18]
        assert card.std() > 5  # drawn text and stripes, not a flat colour
        assert np.abs(card.mean(axis=(0, 1)) - RED).max() > 60
        with pytest.raises(RenderError, match=f"no take: scene {ids[1]} 'Shot 1'"):
            export_film(p, tmp_path / "x.mp4", RenderSettings(missing="refuse"))
    assert not (tmp_path / "x.mp4").exists()


def test_title_end_cards_and_subtitles(tmp_path: Path) -> None:
    p, _ = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(1.0, BLUE)])
    with p:
        s = RenderSettings(
            format="png",
            title_card=0.5,
            end_card=0.5,
            card_transition=Transition(),
            subtitles=(Cue(0.25, 0.5, "Hello"),),
        )
        frames = _png_frames(p, tmp_path, s)
    assert len(frames) == 48
    assert frames[6].max() > 200 and frames[6][:10].max() < 5  # white title on black
    bottom = slice(60, 90)
    with_sub, without = frames[12 + 8], frames[12 + 2]  # timeline 0.33 s and 0.08 s
    assert (with_sub[bottom] > 200).all(axis=2).sum() > 20
    assert (without[bottom] > 200).all(axis=2).sum() == 0
    assert frames[-6].max() > 200  # the end card's text


def test_a_range_of_scenes_and_a_take_alone(tmp_path: Path) -> None:
    p, ids = build_project(
        tmp_path / "f.storyloom", tmp_path / "m", [(0.5, RED), (0.75, BLUE), (1.0, GREEN)]
    )
    with p:
        export_film(p, tmp_path / "r.mp4", RenderSettings(scenes=(ids[1], ids[2]), **FAST))
        frames, _, fps = decode_video(tmp_path / "r.mp4")
        assert len(frames) == round(1.75 * 24)
        assert np.abs(frames[0][45, 80].astype(int) - BLUE).max() < 10
        take = p.scene(ids[0]).chosen_take_id
        export_film(p, tmp_path / "t.mp4", RenderSettings(take=take, **FAST))
        frames, _, _ = decode_video(tmp_path / "t.mp4")
        assert len(frames) == round(1.5 * 24)  # the whole take, not its scene's 0.5 s
        assert read_recipe(tmp_path / "t.mp4")["scenes"][0]["take"]["id"] == take
        with pytest.raises(RenderError, match="no scene with id 999"):
            export_film(p, tmp_path / "x.mp4", RenderSettings(scenes=(999,)))
        with pytest.raises(RenderError, match="no take with id 999"):
            export_film(p, tmp_path / "x.mp4", RenderSettings(take=999))


def test_progress_counts_frames_and_cancel_keeps_the_existing_file(tmp_path: Path) -> None:
    p, _ = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(2.0, RED)])
    out = tmp_path / "film.mp4"
    out.write_bytes(b"an earlier export")
    seen = []
    cancel = threading.Event()

    def progress(pr) -> None:
        seen.append(pr)
        if pr.frames_done >= 10:
            cancel.set()

    with p:
        with pytest.raises(ExportCancelled):
            export_film(
                p, out, RenderSettings(**FAST), progress=progress, cancel=cancel, progress_every=0
            )
        assert out.read_bytes() == b"an earlier export"
        _no_partials(tmp_path)
        assert all(pr.frames_total == 48 for pr in seen)
        done = [pr.frames_done for pr in seen]
        assert done == sorted(done) and done[-1] < 48
        assert any(pr.eta_s is not None and pr.eta_s > 0 for pr in seen)
        export_film(p, out, RenderSettings(**FAST))  # success replaces it
    assert decode_video(out)[0] and out.read_bytes() != b"an earlier export"


def test_a_full_disk_leaves_no_output_and_says_so(tmp_path: Path) -> None:
    p, _ = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(1.0, RED)])
    out = tmp_path / "film.mp4"
    out.write_bytes(b"keep me")
    written = [0]

    def disk(n: int) -> None:
        written[0] += n
        if written[0] > 4000:
            raise OSError(errno.ENOSPC, "No space left on device")

    with p, pytest.raises(RenderError, match="the disk is full"):
        export_film(p, out, RenderSettings(**FAST), write_hook=disk)
    assert out.read_bytes() == b"keep me"
    assert not sidecar_path(out).exists()
    _no_partials(tmp_path)


def test_bad_input_is_named_and_writes_nothing(tmp_path: Path) -> None:
    p, ids = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(0.5, RED), (0.5, BLUE)])
    with p:
        with pytest.raises(RenderError, match="output folder .* does not exist"):
            export_film(p, tmp_path / "nope" / "x.mp4")
        with pytest.raises(RenderError, match="unknown preset"):
            export_film(p, tmp_path / "x.mp4", RenderSettings(preset="cinema"))
        with pytest.raises(RenderError, match="cannot tell the format"):
            export_film(p, tmp_path / "x.avi")
        p.execute(AddScene(prompt="late", duration=0.5))
        asset = p.timeline()[1].video.id
    # damage the second take's bytes inside the file (as a bad disk would)
    con = sqlite3.connect(tmp_path / "f.storyloom")
    con.execute(
        "UPDATE asset_chunks SET data = zeroblob(length(data)) WHERE asset_id = ?", (asset,)
    )
    con.commit()
    con.close()
    with Project.open(tmp_path / "f.storyloom") as p2:
        with pytest.raises(RenderError, match=f"scene {ids[1]} 'Shot 1'"):
            export_film(p2, tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
    _no_partials(tmp_path)


def test_crf_and_bitrate_set_the_encoder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    p, ids = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(0.5, None)])
    noisy = make_video(tmp_path / "m" / "n.mp4", lambda i: rng.integers(0, 255, (90, 160, 3)), 0.5)
    with p:
        p.add_take(ids[0], noisy, {"source": "test"})
        sizes = {}
        for crf in (10, 40):
            export_film(p, tmp_path / f"c{crf}.mp4", RenderSettings(crf=crf, **FAST))
            sizes[crf] = (tmp_path / f"c{crf}.mp4").stat().st_size
        for rate in (100_000, 1_000_000):
            export_film(p, tmp_path / f"b{rate}.mp4", RenderSettings(bitrate=rate, **FAST))
            sizes[rate] = (tmp_path / f"b{rate}.mp4").stat().st_size
    assert sizes[10] > 3 * sizes[40]
    assert sizes[1_000_000] > 3 * sizes[100_000]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only folder")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    p, _ = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(0.5, RED)])
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with p, pytest.raises(RenderError, match="read-only"):
            export_film(p, locked / "x.mp4")
    finally:
        locked.chmod(0o755)


def test_take_of_another_frame_rate_is_resampled_in_time(tmp_path: Path) -> None:
    # a 12 fps take whose frames count up: at 24 fps each take frame shows twice
    p, ids = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(1.0, None)])
    clip = make_video(tmp_path / "m" / "ramp.mp4", lambda i: (i * 20, 0, 0), 1.0, fps=12)
    with p:
        p.add_take(ids[0], clip, {"source": "test"})
        frames = _png_frames(p, tmp_path, RenderSettings(format="png"))
    reds = [round(f[45, 80, 0] / 20) for f in frames]
    assert reds == [i // 2 for i in range(24)]

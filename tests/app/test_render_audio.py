"""The mix: placement, trims, gains, fades, mute/solo, takes' own sound, normalisation and the
limiter, measured on real WAV/MP4 exports of real project files; and A/V sync."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from render_media import (
    RATE,
    add_audio,
    build_project,
    constant,
    decode_audio,
    decode_video,
    make_video,
    make_wav,
    tone,
)

from app.project import EditAudioClip, EditAudioTrack
from app.render import MasterSettings, RenderError, RenderSettings, export_film
from app.render.master import db_to_gain, limiter_gain, master, min_filter

RAW = MasterSettings(normalise_db=None)  # keep the mix's level, so gains can be measured
GREY = (60, 60, 60)


def level(pcm: np.ndarray, a: float, b: float) -> float:
    """Mean absolute level of the left channel between a and b seconds."""
    return float(np.abs(pcm[round(a * RATE) : round(b * RATE), 0]).mean())


def _project(tmp_path: Path, seconds: float = 3.0):
    return build_project(tmp_path / "f.storyloom", tmp_path / "m", [(seconds, GREY)])


def _wav_export(p, tmp_path: Path, master_settings: MasterSettings = RAW) -> np.ndarray:
    out = tmp_path / "mix.wav"
    export_film(p, out, RenderSettings(master=master_settings))
    return decode_audio(out)


def _steps(tmp_path: Path) -> Path:
    """0.1 for 0.5 s, 0.3 for 0.5 s, then 0.05 for a second: in/out points are easy to see."""
    pcm = np.concatenate([constant(0.5, 0.1), constant(0.5, 0.3), constant(1.0, 0.05)])
    return make_wav(tmp_path / "m" / "steps.wav", pcm)


def test_clip_start_trim_gain_fades_and_track_gain(tmp_path: Path) -> None:
    p, _ = _project(tmp_path)
    with p:
        wav = make_wav(tmp_path / "m" / "level.wav", constant(2.0, 0.4))
        add_audio(p, wav, track="A", start=0.5, gain_db=-6.0, fade_in=0.5, fade_out=0.5)
        add_audio(p, _steps(tmp_path), track="B", start=2.5, in_point=0.5, out_point=1.0)
        p.execute(EditAudioTrack(track_id=p.audio_tracks()[1].id, gain_db=6.0))
        pcm = _wav_export(p, tmp_path)
    assert len(pcm) == 3 * RATE  # exactly as long as the picture
    g6 = db_to_gain(-6.0)
    assert level(pcm, 0.0, 0.49) == 0.0  # before the clip starts
    assert level(pcm, 1.05, 1.95) == pytest.approx(0.4 * g6, abs=0.002)
    assert level(pcm, 0.745, 0.755) == pytest.approx(0.2 * g6, abs=0.01)  # half-way in
    assert level(pcm, 2.245, 2.255) == pytest.approx(0.2 * g6, abs=0.01)  # half-way out
    assert level(pcm, 0.5, 0.52) < 0.02 * g6 * 4
    # track B: the clip's 0.5..1.0 s (the 0.3 step) at 2.5 s, lifted 6 dB by its track
    assert level(pcm, 2.52, 2.98) == pytest.approx(0.3 * db_to_gain(6.0), abs=0.004)


def test_mute_and_solo(tmp_path: Path) -> None:
    p, _ = _project(tmp_path, 1.0)
    with p:
        add_audio(p, make_wav(tmp_path / "m" / "a.wav", constant(1.0, 0.2)), track="A")
        add_audio(p, make_wav(tmp_path / "m" / "b.wav", constant(1.0, 0.1)), track="B")
        a, b = p.audio_tracks()
        assert level(_wav_export(p, tmp_path), 0.1, 0.9) == pytest.approx(0.3, abs=0.002)
        p.execute(EditAudioTrack(track_id=a.id, mute=True))
        assert level(_wav_export(p, tmp_path), 0.1, 0.9) == pytest.approx(0.1, abs=0.002)
        p.execute(EditAudioTrack(track_id=a.id, mute=False))
        p.execute(EditAudioTrack(track_id=a.id, solo=True))
        assert level(_wav_export(p, tmp_path), 0.1, 0.9) == pytest.approx(0.2, abs=0.002)


def test_limiter_keeps_peaks_under_the_ceiling_and_leaves_the_rest(tmp_path: Path) -> None:
    p, _ = _project(tmp_path, 3.0)
    with p:
        add_audio(p, make_wav(tmp_path / "m" / "a.wav", constant(2.5, 0.8)), track="A")
        add_audio(p, make_wav(tmp_path / "m" / "b.wav", constant(1.0, 0.8)), track="B", start=1.0)
        pcm = _wav_export(p, tmp_path, MasterSettings(normalise_db=None, ceiling_db=-0.3))
    ceiling = db_to_gain(-0.3)
    assert np.abs(pcm).max() <= ceiling + 1 / 32767
    assert level(pcm, 1.1, 1.9) == pytest.approx(ceiling, abs=0.003)  # 1.6 held at the ceiling
    assert level(pcm, 0.1, 0.9) == pytest.approx(0.8, abs=0.001)  # untouched away from it
    assert level(pcm, 2.1, 2.4) == pytest.approx(0.8, abs=0.001)


def test_peak_normalisation_puts_the_peak_at_minus_one_dbfs(tmp_path: Path) -> None:
    p, _ = _project(tmp_path, 1.0)
    with p:
        add_audio(p, make_wav(tmp_path / "m" / "t.wav", tone(1.0, 0.25)))
        pcm = _wav_export(p, tmp_path, MasterSettings())
    assert np.abs(pcm).max() == pytest.approx(db_to_gain(-1.0), abs=0.002)


def test_takes_own_sound_plays_in_its_scene(tmp_path: Path) -> None:
    p, ids = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(1.0, GREY), (1.0, None)])
    clip = make_video(tmp_path / "m" / "s.mp4", GREY, 1.5, sound=np.stack([tone(1.5, 0.3)] * 2, 1))
    with p:
        p.add_take(ids[1], clip, {"source": "test"})
        pcm = _wav_export(p, tmp_path)
        assert level(pcm, 0.1, 0.9) == 0.0
        assert level(pcm, 1.1, 1.9) == pytest.approx(0.3 * 2 / np.pi, abs=0.01)  # a sine's mean
        quiet = _wav_export(p, tmp_path, MasterSettings(normalise_db=None, take_audio=False))
        assert np.abs(quiet).max() == 0.0


def test_audio_problems_name_the_clip(tmp_path: Path) -> None:
    p, _ = _project(tmp_path, 1.0)
    with p:
        wav = make_wav(tmp_path / "m" / "short.wav", tone(0.5, 0.2))
        clip = add_audio(p, wav, track="Music", start=2.0)
        with pytest.raises(
            RenderError,
            match=f"audio clip {clip} \\(short.wav\\) on track 'Music'"
            " starts at 2s, after the film ends at 1s",
        ):
            export_film(p, tmp_path / "x.mp4")
        p.execute(EditAudioClip(clip_id=clip, start=0.0, in_point=0.8))
        with pytest.raises(RenderError, match="its in point 0.8s is past the end of its media"):
            export_film(p, tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def _flash_and_click(tmp_path: Path, settings: RenderSettings) -> tuple[float, float]:
    p, ids = build_project(tmp_path / "f.storyloom", tmp_path / "m", [(1.0, GREY), (1.0, None)])
    flash = make_video(
        tmp_path / "m" / "flash.mp4", lambda i: (255, 255, 255) if i == 12 else GREY, 1.0
    )
    click = np.zeros(RATE, np.float32)
    click[round(0.3 * RATE) : round(0.305 * RATE)] = 0.9  # a 5 ms burst at 0.3 s
    with p:
        p.add_take(ids[1], flash, {"source": "test"})
        add_audio(p, make_wav(tmp_path / "m" / "click.wav", click), start=1.2)  # click at 1.5 s
        if settings.scenes == ():
            settings = RenderSettings(title_card=0.5, speed="ultrafast")
        else:
            settings = RenderSettings(scenes=(ids[1],), speed="ultrafast")
        export_film(p, tmp_path / "sync.mp4", settings)
    frames, _, fps = decode_video(tmp_path / "sync.mp4")
    white = [i for i, f in enumerate(frames) if f.mean() > 200]
    assert len(white) == 1
    pcm = decode_audio(tmp_path / "sync.mp4")
    onset = int(np.argmax(np.abs(pcm[:, 0]) > 0.3))
    return white[0] / fps, onset / RATE


@pytest.mark.parametrize("where", ["film with a title card", "the scene alone"])
def test_picture_and_sound_stay_in_sync(tmp_path: Path, where: str) -> None:
    settings = RenderSettings(scenes=() if where.startswith("film") else None)
    flash_t, click_t = _flash_and_click(tmp_path, settings)
    assert flash_t == pytest.approx(2.0 if where.startswith("film") else 0.5, abs=1e-6)
    assert abs(flash_t - click_t) <= 1 / 24


def test_limiter_in_blocks_equals_the_whole_and_never_exceeds_the_ceiling() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, (20_000, 2)).astype(np.float32)
    x[5_000:5_050] *= 5  # a burst far over full scale
    ceiling = db_to_gain(-0.3)
    whole = x * limiter_gain(x, ceiling, 240)[:, None]
    blocks = list(master(iter(np.array_split(x, 7)), 1.0, -0.3, 48_000))
    assert np.allclose(np.concatenate(blocks), whole, atol=1e-6)
    assert np.abs(whole).max() <= ceiling + 1e-6
    assert np.allclose(whole[:4_000], x[:4_000])  # far from the burst: untouched


def test_min_filter_matches_the_obvious_one() -> None:
    a = np.random.default_rng(1).random(101).astype(np.float32)
    for w in (1, 3, 7, 21):
        r = w // 2
        ref = np.array([a[max(0, i - r) : i + r + 1].min() for i in range(len(a))])
        assert np.array_equal(min_filter(a, w), ref)

"""The frozen program, headless (`make bundle-test`): it must start, open the editor on the
sample project and quit; render the sample storyboard with its own engine process to an H.264
MP4 of the right length; and write nothing into its own folder. Prints the bundle's size and the
time from launch to the editor window shown (on the sample project) and closed again.

    python packaging/smoke_test.py dist/Storyloom

User folders (XDG_*) point into a scratch folder, so the run sees a first start.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parent.parent


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def logged_at(log: str, message: str) -> float:
    """The time (epoch seconds) of the last log line with MESSAGE."""
    line = [ln for ln in log.splitlines() if message in ln][-1]
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def run(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    took = time.perf_counter() - t0
    out = r.stdout + r.stderr
    if r.returncode != 0:
        raise SystemExit(f"FAILED ({r.returncode}): {' '.join(cmd)}\n{out[-4000:]}")
    return took, out


def main(bundle: Path) -> int:
    program = bundle / ("Storyloom.exe" if sys.platform == "win32" else "Storyloom")
    if not program.is_file():
        raise SystemExit(f"no frozen program at {program}: run make bundle")
    before = listing(bundle)
    scratch = Path(tempfile.mkdtemp(prefix="storyloom-bundle-test-"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(scratch / "home"))
    for var, sub in (
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
    ):
        env[var] = str(scratch / sub)
    env.pop("PYTHONPATH", None)
    report: dict[str, object] = {"bundle_mb": round(folder_bytes(bundle) / 2**20, 1)}
    tarballs = sorted(bundle.parent.glob("Storyloom-*.tar.gz"))
    if tarballs:
        report["tarball_mb"] = round(tarballs[-1].stat().st_size / 2**20, 1)

    # 1. the editor: first start opens the sample project; it quits as soon as it is shown.
    # Times from launch to the window shown, to the sample project open in it, to exit.
    # The first start also builds the sample project; the build left the files in the page
    # cache, so neither is a cold start from disk.
    log_file = scratch / "state" / "storyloom" / "log" / "storyloom.log"
    for run_name in ("first_start", "second_start"):
        t0 = time.time()
        took, _out = run([str(program)], dict(env, STORYLOOM_QUIT_AFTER_MS="0"), 300)
        log = log_file.read_text()
        if "(sample).storyloom" not in log.splitlines()[-2]:
            raise SystemExit(f"FAILED: the editor did not open the sample project:\n{log[-2000:]}")
        report[f"editor_{run_name}_s"] = {
            "window_shown": round(logged_at(log, "window shown") - t0, 2),
            "sample_project_open": round(logged_at(log, "opened ") - t0, 2),
            "exited": round(took, 2),
        }

    # 2. the engine, through the hidden flag, with the bundled torch and default model
    _, out = run([str(program), "--storyloom-engine", "info", "--json"], env, 300)
    info = json.loads(out[out.index("{") :])
    report["engine_torch"] = info["torch"]
    report["engine_device"] = info["device"]
    _, out = run([str(program), "--storyloom-pip", "--version"], env, 120)
    report["pip"] = out.split()[1]

    # 3. `storyloom demo`: the engine process generates every scene, then the film is encoded
    film = scratch / "demo.mp4"
    took, out = run([str(program), "demo", "-q", "-o", str(film)], env, 1800)
    if "sample footage" in out:
        raise SystemExit(f"FAILED: scenes fell back to sample footage:\n{out[-3000:]}")
    said = float(re.search(r"([\d.]+) s \(", out).group(1))
    with av.open(str(film)) as f:
        v = f.streams.video[0]
        codec = v.codec_context.name
        seconds = float(f.duration / av.time_base)
        audio = [s.codec_context.name for s in f.streams.audio]
    if codec != "h264" or abs(seconds - said) > 0.2 or seconds < 1:
        raise SystemExit(f"FAILED: {film} is {codec}, {seconds:.2f} s (demo said {said} s)")
    report["demo"] = {
        "seconds_to_render": round(took, 1),
        "codec": codec,
        "audio": audio,
        "duration_s": round(seconds, 2),
        "size": f"{v.codec_context.width}x{v.codec_context.height}",
    }

    written = sorted(listing(bundle) - before)
    if written:
        raise SystemExit(f"FAILED: the program wrote into its own folder: {written[:10]}")
    print(json.dumps(report, indent=2))
    shutil.rmtree(scratch, ignore_errors=True)  # kept only when something failed
    print("bundle-test: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "dist" / "Storyloom")))

"""The mean of several model folders of one lineage: checkpoint averaging.

Runs that continue one another (the same transformer, continued on the same autoencoder) end
close together in weight space, each a noisy step along the same valley; a short learning-rate
restart on a small machine moves colour or shape one way in one run and the other way in the
next. Their mean is an EMA over a longer horizon than training's own: it keeps what the runs
share and cancels some of what each drew by chance (Izmailov et al., 2018, "Averaging Weights
Leads to Wider Optima"). It costs no training, only an evaluation to accept or refuse it.

Only the transformer is averaged. A transformer's weights mean something only in its
autoencoder's latent space, so every folder must carry the same autoencoder, weight for weight,
and the same transformer config.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from engine import checkpoint as ckpt
from engine.model_bundle import ModelBundle
from engine.request import EngineError


def _shares(n: int, shares: Sequence[float] | None) -> list[float]:
    if shares is None:
        return [1.0 / n] * n
    if len(shares) != n:
        raise EngineError(f"{len(shares)} shares for {n} model folders: give one for each")
    if any(s <= 0 for s in shares):
        raise EngineError("every share must be above 0")
    total = float(sum(shares))
    return [s / total for s in shares]


def _check_one_lineage(paths: Sequence[Path], bundles: Sequence[ModelBundle]) -> None:
    first, head = bundles[0], paths[0]
    for path, b in zip(paths[1:], bundles[1:], strict=True):
        if b.config.get("dit") != first.config.get("dit"):
            raise EngineError(
                f"{path} and {head} have different transformer configs: only runs of one "
                "model can be averaged"
            )
        theirs, ours = b.vae.state_dict(), first.vae.state_dict()
        if b.config.get("vae") != first.config.get("vae") or any(
            not torch.equal(theirs[k], v) for k, v in ours.items()
        ):
            raise EngineError(
                f"{path} and {head} have different autoencoders: a transformer's weights "
                "average only within one latent space"
            )


def _steps(b: ModelBundle) -> int:
    return int(b.config.get("training", {}).get("dit_steps_done") or 0)


def average_models(paths: Sequence[Path], out: Path, shares: Sequence[float] | None = None) -> dict:
    """Write to `out` a model folder whose transformer is the weighted mean of the folders'
    (equal shares unless given). Its config, training config and log are the most trained
    folder's; its training record names what was averaged. Returns that record entry."""
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise EngineError("name at least two model folders to average")
    weights = _shares(len(paths), shares)
    bundles = [ModelBundle.load(p) for p in paths]  # all read before `out` may be written
    _check_one_lineage(paths, bundles)

    newest = max(range(len(paths)), key=lambda i: _steps(bundles[i]))
    base = bundles[newest]
    states = [b.dit.state_dict() for b in bundles]
    mean = {}
    for k, v in states[newest].items():
        if v.is_floating_point():  # in fp32: fp16 folders would round each partial sum
            mean[k] = sum(w * s[k].float() for w, s in zip(weights, states, strict=True))
        else:
            mean[k] = v
    base.dit.load_state_dict(mean)

    entry = [
        {
            "model": p.name,
            "dit_steps_done": _steps(b),
            "weights_sha256": b.config.get("weights_sha256"),
            "share": round(w, 6),
        }
        for p, b, w in zip(paths, bundles, weights, strict=True)
    ]
    base.config.setdefault("training", {})["averaged"] = entry
    recipe = paths[newest] / "train_config.json"
    if recipe.is_file():  # read whole before the write: `out` may be that folder
        ckpt.atomic_write_bytes(out / recipe.name, recipe.read_bytes())
    # weights, config.json with their hash, and the log (copied to a temp file, then renamed)
    base.save(out, log=paths[newest] / "training_log.jsonl")
    return {"averaged": entry, "weights_sha256": base.config["weights_sha256"]}

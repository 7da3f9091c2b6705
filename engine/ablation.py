"""Which transformer learns the world fastest: small models trained from scratch, side by side.

A question such as "why is direction never read" costs a CPU day to answer on the default
model, so it is asked here of small transformers instead: each variant (a DiT config) trains
from zero on the same cached latents of one world family (encoded once by a model folder's
autoencoder, with the prompt states of their captions), with the same batches and noise, and
the prompt probe (`engine/eval_prompt.py`: loss with the true caption against one naming
something else, same noise) runs on held-out clips every few hundred steps, text-to-video and
image-to-video. Variants are compared at equal samples seen.

`oracle` adds one plain token per clip naming its direction (a fixed random vector for each of
the four): with it, a variant that still does not read direction is held back by the video side
(positions, attention), not by how the prompt encoder words it.

`ref_share` gives that share of steps a reference still of the clip's character (on plain grey,
as a story's element reference), and the `reference` attribute probes whether the variant reads
it: each held-out clip's loss with its own still against another clip's, same caption and noise.

`python -m engine ablate --name NAME [--dit JSON] [--oracle] [--minutes M] [--out FILE]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.data.synthetic import make_batch
from engine.data.world_spec import OPPOSITE
from engine.eval_prompt import ATTRIBUTES, caption_pairs, per_clip_loss
from engine.models.dit import DiT, DiTConfig, patchify, unpatchify
from engine.request import EngineError
from engine.sampling import guided, resolution_shift
from engine.sequence import Context, build_sequence
from engine.train_steps import encode_batch_video, motion_loss

DIRECTIONS = ("left", "right", "up", "down")
TRAIN_SEED, VAL_SEED = 1_000_000, 5_000_000  # world seeds: the two sets never share a clip
BASE_DIT = {"width": 128, "depth": 4, "heads": 4, "pooled_text": True}


@dataclass(frozen=True)
class AblationConfig:
    dit: dict = field(default_factory=lambda: dict(BASE_DIT))  # DiTConfig keys
    oracle: bool = False
    family: str = "motion"
    width: int = 128
    height: int = 96
    frames: int = 17  # 5 latent frames: a move crosses 1-3 tokens
    clips: int = 3200  # training clips (cached latents), seen many times
    val_clips: int = 96
    batch: int = 24
    lr: float = 4e-4
    warmup: int = 100
    text_dropout: float = 0.1
    i2v_share: float = 0.5  # steps with the start frame given (evenly spread; 0.5: every other)
    motion_weight: float = 0.0  # weight of the loss on frame-to-frame differences (motion_loss)
    # steps given a reference still of the clip's character (evenly spread, a step after the
    # image-to-video steps: at 0.5 each, the two alternate)
    ref_share: float = 0.0
    minutes: float = 25.0
    max_steps: int | None = None
    probe_every: int = 150
    levels: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
    guidance: float = 4.0  # text guidance when the last row generates clips
    attributes: tuple[str, ...] = ("direction", "colour")  # prompt attributes, or "reference"
    seed: int = 0

    @property
    def uses_references(self) -> bool:
        return self.ref_share > 0 or "reference" in self.attributes


@dataclass
class LatentSet:
    z: torch.Tensor  # (N, C, t, h, w) normalised latents, fp16
    states: torch.Tensor  # (N, L, 768) prompt states (last layer, then input embeddings), fp16
    lengths: torch.Tensor  # (N,) real prompt tokens
    direction: torch.Tensor  # (N,) index into DIRECTIONS, -1 for none
    specs: list | None = None  # ground truth (held-out set only: the probe alters captions)
    refs: torch.Tensor | None = None  # (N, C, 1, h, w) the character's reference still, fp16


def _direction_ids(specs) -> torch.Tensor:
    return torch.tensor([DIRECTIONS.index(s.direction) if s.direction else -1 for s in specs])


@torch.no_grad()
def encode_set(vae, text, cfg: AblationConfig, n: int, seed: int, keep_specs: bool) -> LatentSet:
    """Render n clips of the family and encode them (32 at a time), with the reference still
    of each clip's character when the config uses them."""
    zs, rows, specs, refs = [], [], [], []
    device = next(vae.parameters()).device
    for i in range(0, n, 32):
        b = make_batch(
            min(32, n - i),
            cfg.width,
            cfg.height,
            cfg.frames,
            12.0,
            seed=seed + i,
            device=device,
            curriculum={cfg.family: 1.0},
            n_references=int(cfg.uses_references),
        )
        zs.append(encode_batch_video(vae, b.video).half().cpu())
        if cfg.uses_references:
            refs.append(encode_batch_video(vae, b.references[:, :1]).half().cpu())
        s, m = text.encode(b.captions)
        rows += [s[j, : int(m[j].sum())].half().cpu() for j in range(len(b.captions))]
        specs += b.specs
    L = max(r.shape[0] for r in rows)
    states = torch.zeros(len(rows), L, rows[0].shape[1], dtype=torch.float16)
    for j, r in enumerate(rows):
        states[j, : r.shape[0]] = r
    lengths = torch.tensor([r.shape[0] for r in rows])
    return LatentSet(
        torch.cat(zs),
        states,
        lengths,
        _direction_ids(specs),
        specs if keep_specs else None,
        torch.cat(refs) if refs else None,
    )


def encoder_digest(vae) -> str:
    """sha256 of what makes the latents (the encoder and the latent statistics; a retuned
    decoder leaves them, and so the cache, as they were)."""
    h = hashlib.sha256()
    for k, v in sorted(vae.state_dict().items()):
        if not k.startswith("decoder."):
            h.update(k.encode() + v.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


def cached_train_set(vae, text, cfg: AblationConfig, cache: Path | None) -> LatentSet:
    """The training set, from `cache` (safetensors) when it was written for these settings."""
    from safetensors.torch import load_file, save_file

    settings = [cfg.family, cfg.width, cfg.height, cfg.frames, cfg.clips, cfg.seed]
    if cfg.uses_references:  # older caches (without stills) keep their key
        settings.append("references")
    key = json.dumps([*settings, encoder_digest(vae)])
    if cache is not None and cache.is_file():
        from safetensors import safe_open

        with safe_open(str(cache), "pt") as f:
            same = (f.metadata() or {}).get("settings") == key
        if same:
            t = load_file(str(cache))
            return LatentSet(t["z"], t["states"], t["lengths"], t["direction"], refs=t.get("refs"))
    data = encode_set(vae, text, cfg, cfg.clips, TRAIN_SEED * (cfg.seed + 1), keep_specs=False)
    if cache is not None:
        tmp = cache.with_suffix(".partial")
        tensors = {"z": data.z, "states": data.states, "lengths": data.lengths}
        if data.refs is not None:
            tensors["refs"] = data.refs
        save_file({**tensors, "direction": data.direction}, str(tmp), {"settings": key})
        tmp.replace(cache)  # written whole, then renamed: never a half cache
    return data


def oracle_token(direction: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,) direction ids -> (B, 1, dim): a fixed random vector for each (zeros for none)."""
    table = torch.randn(len(DIRECTIONS), dim, generator=torch.Generator().manual_seed(123))
    table = torch.cat([table, torch.zeros(1, dim)])  # row -1: no direction
    return table[direction][:, None]


def prompt_batch(states, lengths, direction, dim: int, oracle: bool):
    """Cached states -> (B, L, dim) float states and their mask, with the oracle token."""
    s = states[..., :dim].float()
    mask = torch.arange(s.shape[1])[None] < lengths[:, None]
    if oracle:
        s = torch.cat([s, oracle_token(direction, dim)], dim=1)
        mask = torch.cat([mask, torch.ones(len(mask), 1, dtype=torch.bool)], dim=1)
    return s, mask


def probe_row(dit, val: LatentSet, text, cfg: AblationConfig, device) -> dict:
    """{'ATTR/TASK/LEVEL': [preference, mean gap], 'loss/TASK/LEVEL': loss} on the held-out
    set (the loss with the true captions, on the first prompt attribute's clips)."""
    dim = dit.config.text_dim * (2 if dit.config.lexical_text else 1)
    out = {}
    prompt_attrs = [a for a in cfg.attributes if a != "reference"]
    if "reference" in cfg.attributes:
        out.update(_reference_row(dit, val, text, cfg, device, dim))
    for attr in prompt_attrs:
        pairs = caption_pairs(val.specs, attr, cfg.seed)
        keep = torch.tensor([i for i, _, _ in pairs])
        z = val.z[keep].float().to(device)
        true_d = val.direction[keep]
        wrong_d = true_d
        if attr == "direction":  # the changed caption's token names the opposite direction
            wrong_d = torch.tensor([DIRECTIONS.index(OPPOSITE[DIRECTIONS[i]]) for i in true_d])
        encoded = []
        for captions, d in (([p[1] for p in pairs], true_d), ([p[2] for p in pairs], wrong_d)):
            s, m = text.encode(captions)
            s, m = prompt_batch(s.cpu(), m.sum(1).cpu(), d, dim, cfg.oracle)
            encoded.append((s.to(device), m.to(device)))
        for task in ("t2v", "i2v"):
            for k, level in enumerate(cfg.levels):
                lt, lw = (
                    per_clip_loss(dit, z, s, m, level, 7919 + k, task == "i2v") for s, m in encoded
                )
                out[f"{attr}/{task}/{level:g}"] = _pref_gap(lw / lt - 1)
                if attr == prompt_attrs[0]:  # the held-out loss with the true captions
                    out[f"loss/{task}/{level:g}"] = round(float(lt.mean()), 5)
    return out


def _reference_row(dit, val: LatentSet, text, cfg: AblationConfig, device, dim: int) -> dict:
    """{'reference/TASK/LEVEL': [preference, mean gap]}: each held-out clip's loss with its own
    character's still against another clip's (the set rolled by one), same caption and noise."""
    z = val.z.float().to(device)
    own = val.refs.float().to(device)
    s, m = text.encode([sp.caption for sp in val.specs])
    s, m = prompt_batch(s.cpu(), m.sum(1).cpu(), val.direction, dim, cfg.oracle)
    s, m = s.to(device), m.to(device)
    out = {}
    for task in ("t2v", "i2v"):
        for k, level in enumerate(cfg.levels):
            lt, lw = (
                per_clip_loss(dit, z, s, m, level, 7919 + k, task == "i2v", Context(references=[r]))
                for r in (own, own.roll(1, dims=0))
            )
            out[f"reference/{task}/{level:g}"] = _pref_gap(lw / lt - 1)
    return out


def _pref_gap(rel: torch.Tensor) -> list[float]:
    """(B,) relative loss rises with the changed caption or context -> [preference, mean gap]."""
    return [round(float((rel > 0).float().mean()), 3), round(float(rel.mean()), 6)]


@torch.no_grad()
def sample_clips(dit, z0, states, mask, start_image: bool, guidance: float, seed: int):
    """(B, C, T, h, w) latents shaped like z0, generated from the prompts (and, with
    start_image, z0's first frame) by 12 multistep steps with text guidance."""
    from engine.sampling import sample_multistep, sigma_schedule

    B, patch, device = len(z0), dit.config.patch, z0.device
    grid = (z0.shape[2] // patch[0], z0.shape[3] // patch[1], z0.shape[4] // patch[2])
    s, m = torch.cat([states, states]), torch.cat([mask, torch.zeros_like(mask)])
    ctx = Context(start=torch.cat([z0[:, :, :1]] * 2)) if start_image else None

    def model_fn(z, sigma):  # the prompt and no text, as one batch of two
        seq = build_sequence(
            torch.cat([z, z]), torch.full((2 * B,), sigma, device=device), patch, ctx
        )
        out = dit(seq.x, seq.sigma, seq.pos, seq.kind, s, m)[:, seq.n_context :]
        v_text, v_bare = unpatchify(out.float(), patch, grid).chunk(2)
        v = guided(v_bare, None, v_text, guidance, 1.0)
        if start_image:
            v[:, :, :1] = 0  # the start frame is given, not generated
        return v

    sig = sigma_schedule(12, resolution_shift(grid[0] * grid[1] * grid[2]))
    x = torch.randn(z0.shape, generator=torch.Generator().manual_seed(seed)).to(device) * sig[0]
    if start_image:
        x[:, :, :1] = z0[:, :, :1]
    return sample_multistep(model_fn, x, sig)


@torch.no_grad()
def decoded_direction(vae, z: torch.Tensor, specs) -> float:
    """Share of latent clips whose first object the detector, on the decoded frames, sees move
    the way its spec says (the ground truth's latents: what the autoencoder lets through)."""
    from engine.data import detector as D
    from engine.frames import to_uint8

    frames = to_uint8(vae.decode(z).permute(0, 2, 3, 4, 1))  # (B, T, H, W, 3)
    hits = [
        D.direction(f, sp.looks[0].colour) == sp.direction
        for sp, f in zip(specs, frames, strict=True)
    ]
    return sum(hits) / max(1, len(hits))


@torch.no_grad()
def generated_direction(
    dit, vae, val: LatentSet, text, cfg: AblationConfig, device, task: str | None
) -> float:
    """Share of held-out clips generated from their captions (image-to-video: and their start
    frame) whose object moves the captioned way, as `eval` scores it, at this bench's size (12
    multistep steps, text guidance cfg.guidance). task "two_pass": text-to-video makes the first
    frame, image-to-video the clip from it (as an image model and a video model share the work
    in Emu Video); None: the held-out clips themselves."""
    total = 0.0
    dim = None if task is None else dit.config.text_dim * (2 if dit.config.lexical_text else 1)
    for a in range(0, len(val.z), 32):
        specs, z = val.specs[a : a + 32], val.z[a : a + 32].float().to(device)
        if task is not None:
            s, m = text.encode([sp.caption for sp in specs])
            s, m = prompt_batch(s.cpu(), m.sum(1).cpu(), val.direction[a : a + 32], dim, cfg.oracle)
            s, m = s.to(device), m.to(device)
            if task == "two_pass":  # text-to-video, then its first frame to video anew
                # other noise for the second pass: the first's would retrace its own clip
                z = sample_clips(dit, z, s, m, False, cfg.guidance, 10_031 + a)
            z = sample_clips(dit, z, s, m, task != "t2v", cfg.guidance, 31 + a)
        total += decoded_direction(vae, z, specs) * len(specs)
    return total / len(val.z)


def _is_i2v(step: int, share: float) -> bool:
    return int((step + 1) * share) > int(step * share)


def _has_reference(step: int, share: float) -> bool:
    return _is_i2v(step + 1, share)


def i2v_steps(share: float, n: int) -> list[int]:
    """Which of the first n steps give the start frame."""
    return [k for k in range(n) if _is_i2v(k, share)]


def _settings(cfg: AblationConfig) -> str:
    """What a checkpoint must share with the run that resumes it (not how long either runs)."""
    keep = {k: v for k, v in asdict(cfg).items() if k not in ("minutes", "max_steps")}
    return json.dumps(keep, sort_keys=True)


def save_checkpoint(path: Path, cfg, dit, opt, rng, gen, step: int, seen: int, minutes: float):
    """The whole training state after `step`, as safetensors (no pickle), written then renamed."""
    from engine.checkpoint import atomic_save_tensors, flatten_optimizer

    opt_tensors, opt_scalars = flatten_optimizer(opt)
    tensors = {**{f"dit.{k}": v for k, v in dit.state_dict().items()}, **opt_tensors}
    tensors["gen_state"] = gen.get_state()
    meta = {"settings": _settings(cfg), "optimizer": json.dumps(opt_scalars)}
    meta["counters"] = json.dumps({"step": step, "seen": seen, "minutes": minutes})
    meta["rng"] = json.dumps(rng.bit_generator.state)
    atomic_save_tensors(path, tensors, meta)


def load_checkpoint(path: Path, cfg, dit, opt, rng, gen) -> dict:
    """Restore what save_checkpoint wrote into fresh objects; returns its counters."""
    from safetensors import safe_open

    from engine.checkpoint import load_state_file, split_prefix, unflatten_optimizer

    tensors = load_state_file(path)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    if meta.get("settings") != _settings(cfg):
        raise EngineError(f"checkpoint {path} was written by a run with other settings")
    dit.load_state_dict(split_prefix(tensors, "dit."))
    unflatten_optimizer(opt, tensors, json.loads(meta["optimizer"]))
    gen.set_state(tensors["gen_state"])
    rng.bit_generator.state = json.loads(meta["rng"])
    return json.loads(meta["counters"])


def train_variant(
    bundle, text, cfg: AblationConfig, cache: Path | None, log=print, checkpoint: Path | None = None
) -> list[dict]:
    """Train one variant for cfg.minutes in all (or max_steps) and return its probe rows.
    With `checkpoint`, the state is saved at every probe row and a run goes on from it: the
    rows after it are those the run would have made uninterrupted."""
    device = next(bundle.vae.parameters()).device
    train = cached_train_set(bundle.vae, text, cfg, cache)
    val = encode_set(bundle.vae, text, cfg, cfg.val_clips, VAL_SEED * (cfg.seed + 1), True)
    dc = DiTConfig(latent_channels=bundle.vae.config.latent_channels, **cfg.dit)
    dim = dc.text_dim * (2 if dc.lexical_text else 1)
    if train.states.shape[-1] < dim:
        raise EngineError("the cached prompt states have no input embeddings for lexical_text")
    torch.manual_seed(cfg.seed)
    dit = DiT(dc).to(device)
    opt = torch.optim.AdamW(dit.parameters(), lr=cfg.lr, weight_decay=0.01)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    shift = resolution_shift(patchify(train.z[:1].float(), dc.patch).shape[1])
    rows, losses, seen, step, t0 = [], [], 0, 0, time.time()
    resumed = checkpoint is not None and checkpoint.is_file()
    if resumed:
        c = load_checkpoint(checkpoint, cfg, dit, opt, rng, gen)
        step, seen, t0 = c["step"], c["seen"], t0 - 60 * c["minutes"]
    while True:
        done = (cfg.max_steps is not None and step >= cfg.max_steps) or (
            cfg.max_steps is None and time.time() - t0 > cfg.minutes * 60
        )
        if (step % cfg.probe_every == 0 and not resumed) or done:
            dit.eval()
            row = {"step": step, "seen": seen, "minutes": round((time.time() - t0) / 60, 2)}
            row["loss"] = round(float(np.mean(losses)), 5) if losses else None
            row.update(probe_row(dit, val, text, cfg, device))
            if done:  # the last row also generates: what the words make, not just their loss
                for task in ("t2v", "i2v", "two_pass", None):
                    acc = generated_direction(dit, bundle.vae, val, text, cfg, device, task)
                    row[f"generated/{task or 'truth'}/direction"] = round(acc, 4)
            rows.append(row)
            log(row)
            losses = []
            dit.train()
            if checkpoint is not None:
                save_checkpoint(checkpoint, cfg, dit, opt, rng, gen, step, seen, row["minutes"])
        resumed = False  # the checkpoint's own row was logged by the run that wrote it
        if done:
            return rows
        for g in opt.param_groups:
            g["lr"] = cfg.lr * min(1.0, (step + 1) / cfg.warmup)
        idx = torch.from_numpy(rng.integers(0, len(train.z), cfg.batch))
        z = train.z[idx].float()
        s, m = prompt_batch(
            train.states[idx], train.lengths[idx], train.direction[idx], dim, cfg.oracle
        )
        B = z.shape[0]
        t = torch.sigmoid(torch.randn(B, generator=gen))  # logit-normal, shifted as in training
        t = shift * t / (1 + (shift - 1) * t)
        eps = torch.randn(z.shape, generator=gen)
        m &= ~(torch.rand(B, generator=gen) < cfg.text_dropout)[:, None]
        zt = (1 - t.view(B, 1, 1, 1, 1)) * z + t.view(B, 1, 1, 1, 1) * eps
        z, zt, eps, t, s, m = (v.to(device) for v in (z, zt, eps, t, s, m))
        ctx = Context(start=z[:, :, :1]) if _is_i2v(step, cfg.i2v_share) else Context()
        if _has_reference(step, cfg.ref_share):
            ctx.references = [train.refs[idx].float().to(device)]
        seq = build_sequence(zt, t, dc.patch, ctx)
        full = dit(seq.x, seq.sigma, seq.pos, seq.kind, s, m)[:, seq.n_context :]
        target = patchify(eps - z, dc.patch)
        loss = F.mse_loss(full[:, seq.predict].float(), target[:, seq.predict])
        if cfg.motion_weight > 0:
            first = 1 if ctx.start is not None else 0  # the start frame is given, not predicted
            err = full.float() - target
            loss = loss + cfg.motion_weight * motion_loss(err, z.shape[2], first)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(dit.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        step, seen = step + 1, seen + B


def main(a: argparse.Namespace) -> int:
    from engine.model_bundle import ModelBundle
    from engine.models.text import MiniLMEncoder
    from engine.pipeline import pick_device
    from engine.resources_path import default_model_dir

    try:
        dit = {**BASE_DIT, **json.loads(a.dit)} if a.dit else dict(BASE_DIT)
        unknown = sorted(set(dit) - set(DiTConfig.__dataclass_fields__))
        if unknown:
            raise EngineError(f"--dit: unknown transformer keys {unknown}")
        if (
            min(a.clips, a.batch) < 1
            or a.lr <= 0
            or not 0 <= a.i2v_share <= 1
            or not 0 <= a.ref_share <= 1
            or a.motion_weight < 0
        ):
            raise EngineError(
                "--clips and --batch must be at least 1, --lr positive, --i2v-share and "
                "--ref-share in 0..1, --motion-weight not negative"
            )
        attributes = tuple(x for x in a.attributes.split(",") if x)
        known = {*ATTRIBUTES, "reference"}
        if not attributes or set(attributes) - known or attributes == ("reference",):
            raise EngineError(
                f"--attributes {a.attributes!r}: want one or more of {', '.join(sorted(known))}, "
                "at least one of them a prompt attribute"
            )
        cfg = AblationConfig(
            dit=dit,
            oracle=a.oracle,
            minutes=a.minutes,
            max_steps=a.steps,
            clips=a.clips,
            lr=a.lr,
            batch=a.batch,
            i2v_share=a.i2v_share,
            motion_weight=a.motion_weight,
            ref_share=a.ref_share,
            attributes=attributes,
        )
        device = pick_device(a.device)
        bundle = ModelBundle.load(Path(a.model) if a.model else default_model_dir(), str(device))
        text = MiniLMEncoder.load(device, lexical=True)
        text.cache_size = 10 * (cfg.val_clips + 1)
    except (EngineError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(a.out) if a.out else None

    def log(row):
        short = {k: v for k, v in row.items() if "/" not in k or "/0.9" in k}
        print(json.dumps({"name": a.name, **short}), flush=True)
        if out is not None:
            with out.open("a") as f:
                f.write(
                    json.dumps(
                        {
                            "name": a.name,
                            "dit": dit,
                            "oracle": a.oracle,
                            "motion_weight": a.motion_weight,
                            "ref_share": a.ref_share,
                            **row,
                        }
                    )
                    + "\n"
                )

    ckpt = Path(a.checkpoint) if a.checkpoint else None
    try:
        train_variant(bundle, text, cfg, Path(a.cache) if a.cache else None, log, ckpt)
    except EngineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0

"""How much a model reads each part of its prompt, without generating anything.

For rendered world clips, the flow-matching loss with the clip's caption is compared with the
loss with the same caption where one attribute names something else ("moves left" for a clip
that moves right), at fixed noise levels and with the same noise for both. A model that reads
the attribute predicts worse from the wrong caption: it prefers the true one on most clips and
its loss rises. Where the high noise levels show no preference, the first sampling steps, which
lay out the clip from the prompt alone, leave that attribute to chance: the generated clips
then get it right at chance rate however good the rest is.

The same comparison asks whether the model reads its context: each clip's own previous scene
or reference still against another story's (CONTEXTS).

About six minutes on a 2-core CPU (380 s for 16 clips of each of 7 attributes and 2 kinds of
context), so it can follow a training run between full evaluations.
`python -m engine probe [--model DIR] [--clips N] [--start-image] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.data.captions import ACTION_WORDS, MOVE_WORDS, SPEED_WORDS, describe
from engine.data.world_spec import BACKGROUNDS, COLOURS, OPPOSITE, SHAPES, SceneSpec
from engine.models.dit import patchify, pooled_prompt
from engine.request import EngineError
from engine.sequence import Context, build_sequence
from engine.train_steps import encode_batch_video

# attribute -> the world family whose clips show it
ATTRIBUTES: dict[str, str] = {
    "colour": "still",
    "shape": "still",
    "background": "still",
    "motion": "motion",  # a moving clip captioned as staying still
    "direction": "motion",
    "camera": "camera",
    # the control: the same scene worded another way; its gap is the noise floor of the others
    "wording": "motion",
}
# Context the model is given clean beside the clip, probed the same way: the clip's loss with
# its own context against another story's (the batch rolled by one), with the same caption and
# noise. previous: the previous scene's last frames (a story's carry-over); reference: a still
# of the clip's character on a plain background. A model that ignores its context (pref 0.5)
# cannot keep a character's identity pattern from scene to scene.
CONTEXTS = ("previous", "reference")
NOISE_LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class ProbeConfig:
    clips: int = 16  # rendered clips per attribute (fewer where a clip cannot show it)
    frames: int = 25  # about two seconds at 12 fps: long enough for a move to show
    levels: tuple[float, ...] = NOISE_LEVELS
    seed: int = 0
    # Image-to-video: the clip's first frame is given clean, so where the object starts is
    # known and only the words can say where it goes (a sharper test of direction than text
    # alone, whose high noise levels hide the start; colour and shape the image then shows).
    start_image: bool = False
    # (width, height) of the rendered clips; None: the model's native size. A model trained
    # on smaller buckets is probed at the size it learned from.
    size: tuple[int, int] | None = None


def changed(spec: SceneSpec, attribute: str) -> SceneSpec | None:
    """The scene with `attribute` naming something else (far from the truth, so a model that
    reads the word cannot find the wrong caption nearly right), or None where this clip does
    not show the attribute (a still clip has no direction)."""
    if attribute in ("colour", "shape") and spec.looks:
        lk = spec.looks[0]
        if attribute == "colour":  # not a colour that is in the picture anyway
            taken = {x.colour for x in spec.looks} | {spec.background.name}
            i = COLOURS.index(lk.colour) + len(COLOURS) // 2
            free = [COLOURS[(i + k) % len(COLOURS)] for k in range(len(COLOURS))]
            look = replace(lk, colour=next(c for c in free if c not in taken))
        else:
            look = replace(lk, shape=SHAPES[(SHAPES.index(lk.shape) + 3) % len(SHAPES)])
        return replace(spec, looks=[look, *spec.looks[1:]])
    if attribute == "background" and spec.background.kind in BACKGROUNDS:
        names = BACKGROUNDS[spec.background.kind]
        i = names.index(spec.background.name)
        name = names[(i + max(1, len(names) // 2)) % len(names)]
        return replace(spec, background=replace(spec.background, name=name))
    if attribute == "motion" and spec.direction:
        return replace(spec, actions=["still", *spec.actions[1:]], speeds=["", *spec.speeds[1:]])
    if attribute == "direction" and spec.direction:
        actions = ["move_" + OPPOSITE[spec.direction], *spec.actions[1:]]
        return replace(spec, actions=actions)
    if attribute == "camera" and spec.camera in OPPOSITE:
        return replace(spec, camera=OPPOSITE[spec.camera])
    if attribute == "wording":
        return spec
    return None


_MOVE_PHRASE = re.compile(
    "(?:"
    + "|".join(re.escape(p) for p in sorted(sum(MOVE_WORDS.values(), []), key=len, reverse=True))
    + ")(?: (?:"
    + "|".join(
        re.escape(w) for w in sorted(sum(SPEED_WORDS.values(), []), key=len, reverse=True) if w
    )
    + "))?"
)


def _held_still(caption: str) -> str:
    """The caption with its move ("drifts to the left slowly") replaced by "stays still"."""
    return _MOVE_PHRASE.sub(ACTION_WORDS["still"][0], caption, count=1)


def caption_pairs(specs: list[SceneSpec], attribute: str, seed: int) -> list[tuple[int, str, str]]:
    """(clip index, true caption, changed caption): both drawn with the same random stream, so
    they pick the same template and synonyms and differ only in the changed attribute (the
    wording control draws its second caption from another stream)."""
    out = []
    for i, spec in enumerate(specs):
        other = changed(spec, attribute)
        if other is None:
            continue
        s = seed * 100_003 + i
        true = describe(spec, np.random.default_rng(s))
        if attribute == "motion":  # its phrase draws fewer words: replace it, keep the rest
            wrong = _held_still(true)
        else:
            wrong = describe(other, np.random.default_rng(s + 7 if attribute == "wording" else s))
        if attribute == "wording" and wrong == true:
            wrong = describe(other, np.random.default_rng(s + 13))
        out.append((i, true, wrong))
    return out


@torch.no_grad()
def per_clip_loss(
    dit,
    z: torch.Tensor,
    states,
    mask,
    level: float,
    seed: int,
    start_image: bool = False,
    context: Context | None = None,
) -> torch.Tensor:
    """(B, C, T, h, w) clean latents -> (B,) flow-matching loss at one level, of text-to-video
    or (start_image) of image-to-video, with `context` (previous frames, references) if given,
    scored on the predicted tokens only."""
    gen = torch.Generator(device=z.device).manual_seed(seed)
    eps = torch.randn(z.shape, generator=gen, device=z.device)
    t = torch.full((z.shape[0],), level, device=z.device)
    ctx = replace(context or Context(), start=z[:, :, :1] if start_image else None)
    seq = build_sequence((1 - level) * z + level * eps, t, dit.config.patch, ctx)
    pred = dit(seq.x, seq.sigma, seq.pos, seq.kind, states, mask)
    pred = pred[:, seq.n_context :][:, seq.predict]
    target = patchify(eps - z, dit.config.patch)[:, seq.predict]
    return F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2))


def probe_attribute(engine, attribute: str, cfg: ProbeConfig) -> dict:
    """{'clips', 'levels': {level: {'preference', 'gap'}}} for one attribute: preference is the
    share of clips whose true caption gives the lower loss (0.5: the words are not read), gap
    the mean relative rise of a clip's loss with the changed caption (and its standard error)."""
    from engine.data.synthetic import make_batch
    from engine.eval import native_size

    w, h, fps = native_size(engine)
    w, h = cfg.size or (w, h)
    batch = make_batch(
        cfg.clips,
        w,
        h,
        cfg.frames,
        fps,
        seed=cfg.seed * 1009 + list(ATTRIBUTES).index(attribute),
        device=engine.device,
        curriculum={ATTRIBUTES[attribute]: 1.0},
    )
    pairs = caption_pairs(batch.specs, attribute, cfg.seed)
    if not pairs:
        return {"clips": 0, "levels": {}}
    keep = torch.tensor([i for i, _, _ in pairs], device=engine.device)
    vae, dit = engine.bundle.vae, engine.bundle.dit
    z = encode_batch_video(vae, batch.video[keep])
    true_s, true_m = engine.text.encode([t for _, t, _ in pairs])
    wrong_s, wrong_m = engine.text.encode([w for _, _, w in pairs])
    levels = {}
    for k, level in enumerate(cfg.levels):
        seed = cfg.seed * 7919 + k
        i2v = cfg.start_image
        lt = per_clip_loss(dit, z, true_s.to(z.device), true_m.to(z.device), level, seed, i2v)
        lw = per_clip_loss(dit, z, wrong_s.to(z.device), wrong_m.to(z.device), level, seed, i2v)
        levels[f"{level:g}"] = _summary(lw / lt - 1)  # (B,) how much worse the change fits
    # How far apart the prompt encoder puts the two captions (1 - cosine of their sentence
    # embeddings): a model can only learn to read a difference its prompt states carry.
    k = dit.config.text_dim  # the last layer's states (a lexical model's text carries more)
    cos = (pooled_prompt(true_s[..., :k], true_m) * pooled_prompt(wrong_s[..., :k], wrong_m)).sum(
        -1
    )
    return {
        "clips": len(pairs),
        "example": list(pairs[0][1:]),
        "text_distance": float((1 - cos).mean()),
        "levels": levels,
    }


def _summary(rel: torch.Tensor) -> dict:
    return {
        "preference": float((rel > 0).float().mean()),
        "gap": float(rel.mean()),
        "gap_stderr": float(rel.std() / len(rel) ** 0.5) if len(rel) > 1 else None,
    }


def probe_context(engine, kind: str, cfg: ProbeConfig) -> dict:
    """As probe_attribute, for a kind of context (CONTEXTS): the same caption and noise, the
    clip's own context against another story's."""
    from engine.data.synthetic import make_batch
    from engine.eval import native_size

    w, h, fps = native_size(engine)
    w, h = cfg.size or (w, h)
    k = min(int(engine.config.get("previous_frames", 9)), cfg.frames)  # as the pipeline's
    batch = make_batch(
        cfg.clips,
        w,
        h,
        cfg.frames,
        fps,
        seed=cfg.seed * 1009 + 100 + CONTEXTS.index(kind),
        device=engine.device,
        story_context=kind == "previous",
        n_references=int(kind == "reference"),
        previous_frames=k,
    )
    if kind == "previous":
        valid, clean = batch.previous_valid, batch.previous  # (B,), (B, k, H, W, 3)
    else:
        valid, clean = batch.references_valid[:, 0], batch.references[:, :1]
    keep = torch.nonzero(valid.cpu()).flatten().to(engine.device)
    if len(keep) < 2:  # one clip has no other story to swap contexts with
        return {"clips": 0, "levels": {}}
    vae, dit = engine.bundle.vae, engine.bundle.dit
    z = encode_batch_video(vae, batch.video[keep])
    c = encode_batch_video(vae, clean[keep])
    if kind == "previous":  # the last two latent frames, as training and the pipeline keep
        true_ctx, wrong_ctx = (Context(previous=x[:, :, -2:]) for x in (c, c.roll(1, dims=0)))
    else:  # each clip's own still, and another story's (the batch rolled by one)
        true_ctx, wrong_ctx = (Context(references=[x]) for x in (c, c.roll(1, dims=0)))
    states, mask = engine.text.encode([batch.captions[i] for i in keep.tolist()])
    states, mask = states.to(z.device), mask.to(z.device)
    rel = {}  # level -> (B,) relative loss rise with the other story's context
    for j, level in enumerate(cfg.levels):
        seed, i2v = cfg.seed * 7919 + j, cfg.start_image
        lt = per_clip_loss(dit, z, states, mask, level, seed, i2v, true_ctx)
        lw = per_clip_loss(dit, z, states, mask, level, seed, i2v, wrong_ctx)
        rel[f"{level:g}"] = lw / lt - 1
    out = {
        "clips": len(keep),
        "example": [batch.captions[int(keep[0])]],
        "levels": {lv: _summary(r) for lv, r in rel.items()},
    }
    if kind == "previous":  # a scene that goes on from the last one shows its background and
        # where things were; only a cut leaves the characters' identity as the link
        goes_on = torch.tensor([batch.specs[i].continues for i in keep.tolist()])
        for name, sel in (("continues", goes_on), ("cut", ~goes_on)):
            if sel.any():
                out[name] = {
                    "clips": int(sel.sum()),
                    "levels": {lv: _summary(r[sel.to(r.device)]) for lv, r in rel.items()},
                }
    return out


def probe(engine, cfg: ProbeConfig, attributes: list[str] | None = None) -> dict:
    """{name: result} for prompt attributes (ATTRIBUTES) and kinds of context (CONTEXTS)."""
    names = attributes or [*ATTRIBUTES, *CONTEXTS]
    return {
        a: probe_context(engine, a, cfg) if a in CONTEXTS else probe_attribute(engine, a, cfg)
        for a in names
    }


def format_table(result: dict) -> str:
    levels = next((list(r["levels"]) for r in result.values() if r["levels"]), [])
    head = f"{'attribute':<11} {'clips':>5} {'text':>5}  " + "  ".join(
        f"t={lv:<11}" for lv in levels
    )
    lines = [head, " " * 25 + "  ".join(f"{'pref':>5} {'gap':>7}" for _ in levels)]

    def row(name: str, r: dict, dist: str) -> str:
        cells = [
            f"{r['levels'][lv]['preference']:5.2f} {100 * r['levels'][lv]['gap']:+6.1f}%"
            for lv in levels
            if lv in r["levels"]
        ]
        return f"{name:<11} {r['clips']:>5} {dist}  " + "  ".join(cells)

    for name, r in result.items():
        dist = f"{r['text_distance']:5.3f}" if "text_distance" in r else " " * 5
        lines.append(row(name, r, dist))
        for part in ("continues", "cut"):  # the previous scene's two kinds of story
            if part in r:
                lines.append(row(f"  {part}", r[part], " " * 5))
    lines.append(
        "pref: share of clips whose true caption (or own context) fits better (0.5 = not "
        "read); gap: mean loss rise with the changed caption (another story's context); "
        "text: how far apart the prompt encoder puts the two captions (1 - cosine)"
    )
    return "\n".join(lines)


def parse_size(text: str) -> tuple[int, int]:
    """'128x80' -> (128, 80); both sides multiples of 16 (the autoencoder's 8 x the patch's 2)."""
    m = re.fullmatch(r"(\d+)x(\d+)", text.strip())
    if not m or int(m[1]) % 16 or int(m[2]) % 16 or min(int(m[1]), int(m[2])) < 16:
        raise EngineError(f"--size {text!r}: want WIDTHxHEIGHT, both multiples of 16, e.g. 128x80")
    return int(m[1]), int(m[2])


def main(a: argparse.Namespace) -> int:
    from engine.checkpoint import atomic_write_bytes
    from engine.pipeline import Engine

    try:
        attrs = a.attributes.split(",") if a.attributes else None
        unknown = sorted(set(attrs or []) - {*ATTRIBUTES, *CONTEXTS})
        if unknown:
            known = ", ".join([*ATTRIBUTES, *CONTEXTS])
            raise EngineError(f"unknown attributes {unknown}; known: {known}")
        if a.clips < 1 or a.frames < 1:
            raise EngineError("--clips and --frames must be at least 1")
        size = parse_size(a.size) if a.size else None
        eng = Engine.load(a.model, device=a.device)
    except EngineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    frames = 1 + 4 * ((a.frames - 1) // 4)  # the autoencoder's 1 + 4k frames
    cfg = ProbeConfig(
        clips=a.clips, frames=frames, seed=a.seed, start_image=a.start_image, size=size
    )
    result = {
        "model": str(eng.model_dir),
        "weights_sha256": eng.config.get("weights_sha256"),
        "dit_step": eng.config.get("training", {}).get("dit_steps_done"),
        "frames": frames,
        "size": list(size) if size else None,
        "task": "i2v" if cfg.start_image else "t2v",
        "attributes": probe(eng, cfg, attrs),
    }
    text = json.dumps(result, indent=2)
    if a.out:
        atomic_write_bytes(Path(a.out), (text + "\n").encode())
    print(text if a.json else format_table(result["attributes"]))
    return 0

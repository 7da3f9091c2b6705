"""One training step's work: world batch -> latents -> context task -> flow-matching loss."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from engine.models.dit import PREVIOUS, patchify
from engine.sampling import resolution_shift
from engine.sequence import Context, build_sequence
from engine.train_config import Bucket


def make_world_batch(
    cfg,
    n: int,
    b: Bucket,
    *,
    seed: int,
    device,
    story_context: bool = False,
    n_references: int = 0,
    heldout: bool = False,
    coverage: bool = False,
):
    from engine.data.synthetic import make_batch

    k = min(cfg.previous_frames, b.frames)
    batch = make_batch(
        n,
        b.width,
        b.height,
        b.frames,
        cfg.native_fps,
        seed=seed,
        device=device,
        story_context=story_context,
        n_references=n_references,
        previous_frames=k,
        heldout_captions=heldout,
        curriculum=cfg.curriculum,
        photos=cfg.photos,
        coverage=coverage,
        continue_share=cfg.carry_continue_share,
    )
    if batch.previous is not None and k < cfg.previous_frames:
        # A short previous scene: hold its first frame, exactly as the pipeline does.
        first = batch.previous[:, :1].expand(-1, cfg.previous_frames - k, -1, -1, -1)
        batch.previous = torch.cat([first, batch.previous], dim=1)
    return batch


def object_weight(coverage: Tensor, extra: float, reach: int = 2) -> Tensor:
    """(B, T, H, W) object coverage -> (B, 1, T, H, W) loss weights: 1, and 1 + extra on the
    objects and `reach` pixels around them (their outline is where the shape is)."""
    k = 2 * reach + 1
    grown = F.max_pool3d(coverage[:, None], (1, k, k), stride=1, padding=(0, reach, reach))
    return 1.0 + extra * grown


# Video the CPU encodes in one call, in pixels (frames x height x width): two 25-frame 256x144
# clips. A whole 8-clip batch of those at once took 8.7-11.7 s on one thread and 0.49 GB more
# peak memory, two clips at a time 7.0 s and 0.22 GB (their activations stay in the caches;
# benchmarks/encode_batch.py). Stills go dozens to a call. A GPU takes the whole batch.
CPU_ENCODE_PIXELS = 2 * 25 * 256 * 144

# Sequence tokens the CPU passes through the transformer at once when the config leaves
# micro_tokens at 0 (dit_loss). The lease's 32768-token batch in one pass was killed for memory
# on a 24-GB machine; in slices of 8192 it used about 5 GB and a step took 16.3 s against 18.8.
CPU_MICRO_TOKENS = 8192


@torch.no_grad()
def encode_batch_video(vae, video: Tensor, amp=None, max_pixels: int = CPU_ENCODE_PIXELS) -> Tensor:
    """(B, T, H, W, 3) in [0, 1] -> normalised latent (B, C, t, h, w) in fp32; on the CPU, at
    most max_pixels of video (but at least one clip) a call."""
    x = video.permute(0, 4, 1, 2, 3) * 2 - 1
    per_clip = x.shape[2] * x.shape[3] * x.shape[4]
    step = max(1, max_pixels // per_clip) if x.device.type == "cpu" else max(1, len(x))
    with torch.autocast(x.device.type, dtype=amp, enabled=amp is not None):
        z = torch.cat([vae.encode(x[i : i + step]) for i in range(0, len(x), step)])
    return z.float()


def tokens_per_item(tr, b: Bucket) -> int:
    f = tr.vae.config.spatial_factor
    pt, ph, pw = tr.dit.config.patch
    t = 1 + (b.frames - 1) // 4
    return (t // pt) * (b.height // f // ph) * (b.width // f // pw)


@dataclass
class Prepared:
    """The deterministic part of a step (world batch -> clean latents, context, prompt states):
    a pure function of (task, bucket, seed), so it can be cached and replayed for many epochs."""

    z: Tensor  # (B, C, t, h, w) clean latent of the clip
    ctx: Context  # clean context latents
    prev_valid: Tensor | None  # (B,) which items have a previous scene
    ref_valid: Tensor | None  # (B, R) which reference slots are filled
    text: Tensor  # (B, L, D) prompt states
    text_mask: Tensor  # (B, L)
    per_item: int  # clip tokens per item (for the timestep shift)
    # (B, N) share of each clip token's pixels the world's objects cover, for the validation's
    # object loss (None for training batches and footage, whose objects nobody marked)
    cover: Tensor | None = None


@dataclass(frozen=True)
class WorldOrder:
    """What to render for one batch of the story world: a pure function of (task, bucket,
    seed), so a worker process renders exactly the batch the training process would."""

    n: int
    bucket: Bucket  # frames include the extra ones a context task takes from the clip
    seed: int
    story_context: bool
    n_references: int
    heldout: bool


def world_order(tr, task: str, b: Bucket, seed: int, validation: bool = False) -> WorldOrder:
    cfg = tr.cfg
    cpu_gen = torch.Generator().manual_seed(seed)
    # continue: two more latent frames serve as context; a still bucket gets one more so at
    # least one latent frame is left to predict (and i2v of a still becomes a short clip)
    extra = (8 if b.frames > 1 else 12) if task == "continue" else 0
    if task == "i2v" and b.frames == 1:  # the start frame is given: a still leaves nothing
        extra = 4
    n_refs = 0
    if task == "refs" or (task == "carry" and bool(torch.rand(1, generator=cpu_gen) < 0.5)):
        n_refs = 1 + int(torch.rand(1, generator=cpu_gen) < 0.3)
    per_batch = cfg.val_tokens if validation else cfg.tokens_per_batch
    n = max(1, min(16 if validation else 256, per_batch // max(tokens_per_item(tr, b), 1)))
    return WorldOrder(
        n, Bucket(b.width, b.height, b.frames + extra), seed, task == "carry", n_refs, validation
    )


def to_8bit(x: Tensor | None) -> Tensor | None:
    """[0, 1] float -> uint8: the world is rendered to 8 bits like any video, and 8-bit
    batches are a quarter of the bytes to pass between processes."""
    return None if x is None else x.clamp(0, 1).mul(255).round().to(torch.uint8)


def from_8bit(x: Tensor | None, device) -> Tensor | None:
    return None if x is None else x.to(device).float().div(255)


def render_world(cfg, order: WorldOrder, device):
    """The ordered world batch, its pictures in 8 bits (uint8 tensors on `device`)."""
    batch = make_world_batch(
        cfg,
        order.n,
        order.bucket,
        seed=order.seed,
        device=device,
        story_context=order.story_context,
        n_references=order.n_references,
        heldout=order.heldout,
        coverage=order.heldout,  # validation: the loss on the objects is logged apart
    )
    batch.video = to_8bit(batch.video)
    batch.previous = to_8bit(batch.previous)
    batch.references = to_8bit(batch.references)
    return batch


@torch.no_grad()
def prepare(
    tr,
    task: str,
    b: Bucket,
    seed: int,
    validation: bool = False,
    source: str = "world",
    world=None,
) -> Prepared:
    """world: the ordered batch already rendered (by a worker process), or None to render it."""
    cfg = tr.cfg
    order = world_order(tr, task, b, seed, validation)
    n_refs, per_item = order.n_references, tokens_per_item(tr, b)
    if source == "folder":  # the user's own footage: t2v and i2v only (no stories in it)
        from engine.data.folder import sample_folder_batch

        batch = sample_folder_batch(
            tr.folder_items,
            order.n,
            b.width,
            b.height,
            order.bucket.frames,
            cfg.native_fps,
            seed=seed,
            device=tr.device,
        )
    else:
        batch = world if world is not None else render_world(cfg, order, tr.device)
        batch.video = from_8bit(batch.video, tr.device)
        batch.previous = from_8bit(batch.previous, tr.device)
        batch.references = from_8bit(batch.references, tr.device)
    z = encode_batch_video(tr.vae, batch.video, tr.amp)  # (B, C, t, h, w)
    cover = getattr(batch, "coverage", None)
    if cover is not None:
        cover = token_cover(cover.to(tr.device), tr.vae.config, tr.dit.config.patch)
    ctx = Context()
    if task == "continue":
        ctx.previous, ctx.continues, z = z[:, :, 1:3], True, z[:, :, 3:]
        if cover is not None:  # the first 3 latent frames are context, not predicted
            cover = cover[:, 3:]
    elif task == "i2v":
        ctx.start = z[:, :, :1]
    prev_valid = ref_valid = None
    if task == "carry" and batch.previous is not None:
        ctx.previous = encode_batch_video(tr.vae, batch.previous, tr.amp)[:, :, -2:]
        if batch.previous_valid is not None and not bool(batch.previous_valid.all()):
            prev_valid = batch.previous_valid.to(tr.device)  # first scenes of stories have none
    if n_refs and batch.references is not None:
        refs = batch.references  # (B, R, H, W, 3)
        ctx.references = [
            encode_batch_video(tr.vae, refs[:, r : r + 1], tr.amp) for r in range(refs.shape[1])
        ]
        if batch.references_valid is not None and not bool(batch.references_valid.all()):
            ref_valid = batch.references_valid.to(tr.device)
    states, mask = tr.encode_prompts(batch.captions)
    return Prepared(
        z,
        ctx,
        prev_valid,
        ref_valid,
        states.to(tr.device),
        mask.to(tr.device),
        per_item,
        None if cover is None else cover.flatten(1),
    )


def token_cover(coverage: Tensor, vae_config, patch: tuple[int, int, int]) -> Tensor:
    """(B, T, H, W) object coverage of a 1 + kf frame clip -> (B, t, h, w): the share of each
    clip token's pixels an object covers (flattened, it is patchify's order), over the frames
    its latent frame encodes (the first alone, then groups of f, as the causal autoencoder
    groups them), where the object is largest."""
    B, T, H, W = coverage.shape
    ft, fs = vae_config.temporal_factor, vae_config.spatial_factor
    first, rest = coverage[:, :1], coverage[:, 1:]
    if rest.shape[1]:
        rest = rest.reshape(B, -1, ft, H, W).amax(dim=2)
    per_frame = torch.cat([first, rest], dim=1)  # (B, t, H, W)
    pt, ph, pw = patch
    share = F.avg_pool3d(per_frame[:, None], (pt, ph * fs, pw * fs))  # (B, 1, t/pt, h, w)
    return share[:, 0]


def training_timesteps(cfg, n: int, per_item: int, gen: torch.Generator) -> Tensor:
    """(n,) noise levels: logit-normal (location logit_normal_mean, scale logit_normal_std),
    shifted like the sampler for this many tokens per clip."""
    u = torch.randn(n, generator=gen, device=gen.device)
    t = torch.sigmoid(cfg.logit_normal_mean + u * cfg.logit_normal_std)
    shift = resolution_shift(per_item)
    return shift * t / (1 + (shift - 1) * t)


def motion_loss(err: Tensor, frames: int, first: int) -> Tensor:
    """(B, N, D) prediction error over a clip's tokens (frame-major) -> the mean square of its
    frame-to-frame differences over the predicted frames (`first` on; a given start frame is
    not predicted).

    An error that is the same in every frame (a colour or a place off, held still) cancels here;
    one in how the clip moves does not, and so weighs more than in the plain loss, where motion
    is a small share. The error's square under a fixed linear map keeps the plain loss's
    minimiser (the conditional mean), which a weight that follows the data would move."""
    e = rearrange(err, "b (t s) d -> b t s d", t=frames)[:, first:]
    if e.shape[1] < 2:
        return err.new_zeros(())
    return (e[:, 1:] - e[:, :-1]).pow(2).mean()


def dit_loss(
    tr,
    task: str,
    b: Bucket,
    step_or_seed: int,
    model=None,
    validation: bool = False,
    prepared: Prepared | None = None,
    micro_tokens: int = 0,
):
    """Flow-matching loss for one batch of one task: t2v, i2v, carry, refs or continue.

    micro_tokens > 0 (training): the model takes the batch in slices of at most that many
    sequence tokens (at least one item), and each slice's gradient is added at once, so a
    machine with little memory trains at a large batch. All random draws are the whole batch's,
    so the gradient is the unsplit batch's up to float rounding. The returned loss is then
    detached and info["backward_done"] is True: the caller must not call backward again."""
    cfg, model = tr.cfg, model or tr.dit
    seed = cfg.seed * 7919 + (step_or_seed % cfg.data_pool if cfg.data_pool else step_or_seed)
    p = prepared or prepare(tr, task, b, seed, validation)
    noise_seed = cfg.seed * 7919 + step_or_seed  # fresh noise every step, also on replayed data
    gen = torch.Generator(device=tr.device).manual_seed(noise_seed)
    cpu_gen = torch.Generator().manual_seed(noise_seed)
    z = p.z
    B = z.shape[0]

    if validation:
        t = torch.linspace(0.1, 0.9, B, device=tr.device)
    else:
        t = training_timesteps(cfg, B, p.per_item, gen)
    eps = torch.randn(z.shape, generator=gen, device=tr.device)
    tb = t.view(B, 1, 1, 1, 1)
    z_t = (1 - tb) * z + tb * eps
    velocity = eps - z

    # Small noise on context latents, so the model tolerates imperfect (generated) context.
    s = torch.rand(B, generator=gen, device=tr.device) * cfg.context_noise
    sb = s.view(B, 1, 1, 1, 1)

    def aug(c):
        return (
            None
            if c is None
            else (1 - sb) * c + sb * torch.randn(c.shape, generator=gen, device=tr.device)
        )

    ctx = Context(
        start=aug(p.ctx.start),
        previous=aug(p.ctx.previous),
        continues=p.ctx.continues,
        references=[aug(r) for r in p.ctx.references] if p.ctx.references else None,
    )
    seq = build_sequence(z_t, t, model.config.patch, ctx, ctx_sigma=s)

    drop = torch.rand(B, generator=cpu_gen) < (0.0 if validation else cfg.text_dropout)
    text_mask = p.text_mask & ~drop[:, None].to(tr.device)  # dropped prompts: only the null token
    # Hide context that an item does not have (a story's first scene has no previous scene; a
    # clip with one character has one reference) behind the attention mask.
    valid = torch.ones(seq.kind.shape, dtype=torch.bool, device=tr.device)
    if p.prev_valid is not None:
        valid &= ~((seq.kind == PREVIOUS) & ~p.prev_valid[:, None])
    if ctx.references and p.ref_valid is not None:
        per_ref = patchify(ctx.references[0], model.config.patch).shape[1]
        for r in range(len(ctx.references)):
            valid[:, r * per_ref : (r + 1) * per_ref] &= p.ref_valid[:, r, None]
    seq_id = None if bool(valid.all()) else torch.where(valid, 0, -1)
    target = patchify(velocity, model.config.patch)  # (B, N_clip, token_dim)
    frames = z.shape[2] // model.config.patch[0]
    first = 0 if ctx.start is None else 1  # the given start frame is not predicted
    motion_on = cfg.motion_loss_weight > 0 and not validation  # validation stays the plain loss

    def slice_loss(lo: int, hi: int):
        pred = model(
            seq.x[lo:hi],
            seq.sigma[lo:hi],
            seq.pos[lo:hi],
            seq.kind[lo:hi],
            p.text[lo:hi],
            text_mask[lo:hi],
            None if seq_id is None else seq_id[lo:hi],
        )  # (b, N, token_dim)
        clip_err = pred[:, seq.n_context :].float() - target[lo:hi].float()
        per_token = clip_err[:, seq.predict].pow(2).mean(dim=-1)  # (b, N_predicted)
        # Every token weighs the same. (A weight that follows the objects, as the
        # autoencoder's loss has, was tried: it moves the loss's minimiser from the mean clean
        # clip towards the objects' colours, and the sampler then paints them over the
        # background.)
        loss = per_token.mean()
        motion = motion_loss(clip_err, frames, first) if motion_on else None
        if motion is not None:
            loss = loss + cfg.motion_loss_weight * motion
        return loss, per_token, motion

    info = {"batch": B, "tokens": B * seq.x.shape[1], "seq": seq.x.shape[1]}
    per_slice = max(1, micro_tokens // seq.x.shape[1]) if micro_tokens > 0 else B
    if per_slice >= B:
        loss, per_token, motion = slice_loss(0, B)
        cover = None if p.cover is None else p.cover[:, seq.predict]
        if cover is not None and cover.sum() > 0:  # the loss on the objects alone, for the log
            info["object_loss"] = (cover * per_token).sum() / cover.sum()
        if motion is not None:
            info["motion_loss"] = motion.detach()
        return loss, info
    # Slices: every item has as many tokens, so the slices' means weighted by their share of
    # the items are the batch's means.
    loss, motion_sum = torch.zeros((), device=tr.device), torch.zeros((), device=tr.device)
    for lo in range(0, B, per_slice):
        hi = min(B, lo + per_slice)
        part, _, motion = slice_loss(lo, hi)
        if motion is not None:
            motion_sum += motion.detach() * (hi - lo) / B
        with torch.autocast(tr.device.type, enabled=False):  # backward runs outside autocast
            (part * ((hi - lo) / B)).backward()
        loss += part.detach() * (hi - lo) / B
    if motion_on:
        info["motion_loss"] = motion_sum
    info["backward_done"] = True
    return loss, info

"""Training recipe: one JSON file per model, kept beside the model it produces."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.request import EngineError

REBASE_INITS = ("bridge", "fresh")  # how a rebased transformer's latent layers start


@dataclass
class Bucket:
    """One training shape: all items of a step share it (so attention needs no mask)."""

    width: int
    height: int
    frames: int  # 1 + 4k
    weight: float = 1.0


@dataclass
class TrainConfig:
    name: str = "storyloom-tiny"
    seed: int = 0
    # What to build
    vae: dict = field(default_factory=dict)  # VAEConfig fields
    dit: str | dict = "tiny"  # a DIT_CONFIGS name or DiTConfig fields
    native_width: int = 256
    native_height: int = 144
    native_fps: float = 12.0
    chunk_latents: int = 7  # latent frames generated per chunk (1 + 4*6 = 25 frames)
    # Sampling defaults written into the model config
    steps: int = 20
    sampler: str = "euler"  # the default ODE solver (engine.sampling.SAMPLERS)
    guidance: float = 4.0
    context_guidance: float = 1.0
    guidance_min_sigma: float = 0.0  # guide only at noise levels >= this (GenerationRequest)
    # Stage 1: the autoencoder
    vae_steps: int = 4000
    vae_lr: float = 4e-4
    # With --init-from a model folder whose autoencoder has this many latent channels (fewer
    # than vae.latent_channels): the autoencoder stage widens that one and trains only the added
    # channels and the decoder, so the first this-many channels stay the old latents exactly
    # (engine/autoencoder_widen.py). 0: the stage trains an autoencoder from scratch.
    vae_kept_channels: int = 0
    # Stage 3 (optional): fine-tune the decoder on the frozen encoder. The latents stay exactly
    # the same, so a trained transformer stays valid while the pictures get sharper.
    decoder_steps: int = 0
    decoder_lr: float = 3e-4
    # Generated latents are not the encoder's: they sit 0.4-1.7 latent std from the encoder's
    # latents of the same ground truth, where its posterior noise is 0.02. Each decoder sample's
    # latent gets Gaussian noise of std U(0, this) latent stds, to learn to draw from such
    # latents too (0.4 cost shape accuracy on the default model: docs/gpu_training.md).
    decoder_latent_noise: float = 0.0
    # An adversarial term for the decoder stage (a patch discriminator on single frames,
    # engine/models/patch_disc.py): L1 and MSE draw a fine pattern the latent leaves uncertain as
    # its mean colour; a discriminator of patches penalises that flat mean. The term is scaled
    # as VQGAN's (its gradient at the decoder's last layer matched to the reconstruction's) times
    # this; 0: off. For `decoder_adv_start` steps only the discriminator learns.
    decoder_adv_weight: float = 0.0
    decoder_adv_start: int = 100
    vae_pixels_per_batch: int = 256 * 144 * 96  # frames x pixels per step
    vae_kl_weight: float | None = None  # None: the VAEConfig default
    # Pixels the world's objects cover (dilated by a few pixels) weigh 1 + this in the
    # autoencoder's loss: small characters are a few % of the pixels, and an unweighted loss
    # lets the autoencoder draw them as blobs. 0: every pixel weighs the same.
    vae_object_weight: float = 0.0
    vae_buckets: list[Bucket] = field(
        default_factory=lambda: [
            Bucket(256, 144, 9, 2.0),
            Bucket(256, 144, 1, 1.0),
            Bucket(144, 256, 9, 0.5),
            Bucket(192, 192, 5, 0.5),
        ]
    )
    # Stage 2: the transformer
    dit_steps: int = 20000
    dit_lr: float = 3e-4
    warmup: int = 300
    min_lr_ratio: float = 0.1
    # A transformer continued from a model folder (--init-from, a fresh optimizer) starts a new
    # cosine cycle: warm-up, then dit_lr down to the floor at dit_steps. False: the original
    # schedule goes on (after a warm-up), which has little left to give late in a run.
    dit_restart: bool = False
    # The step such a cycle began at, when it began in an earlier run whose live weights this
    # one continues (train --live-to; docs/cpu_long_run.sh): the cosine goes on from where that
    # run left it, and only the fresh moments warm up again. 0: the cycle begins at this run.
    dit_cycle_from: int = 0
    # A transformer continued from a model folder over another autoencoder's latent channels
    # (engine/rebase.py) keeps its blocks; its first and last layers are made new: "bridge" maps
    # them through a linear fit between the two latent spaces, "fresh" starts them anew.
    rebase_init: str = "bridge"
    # Parameters whose names start with one of these (e.g. "text_lex.", a branch grown onto a
    # trained model from zero) learn at fast_lr_scale times the schedule's rate.
    fast_parts: list[str] = field(default_factory=list)
    fast_lr_scale: float = 10.0
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    tokens_per_batch: int = 32768
    # At most this many sequence tokens in one forward and backward pass (0: the whole batch on
    # a GPU, 8192 on a CPU): a step's batch goes through in slices whose gradients add up, so a
    # CPU trains at the GPU's tokens_per_batch (32768 took more than 24 GB in one pass).
    micro_tokens: int = 0
    dit_buckets: list[Bucket] = field(
        default_factory=lambda: [
            Bucket(256, 144, 25, 4.0),
            Bucket(256, 144, 13, 2.0),
            Bucket(256, 144, 1, 1.0),
            Bucket(144, 256, 13, 0.7),
            Bucket(192, 192, 13, 0.7),
            Bucket(320, 128, 13, 0.5),
        ]
    )
    # Context tasks: shares of steps, before and after `context_start` (a fraction of dit_steps)
    context_start: float = 0.2
    tasks_early: dict = field(default_factory=lambda: {"t2v": 0.8, "i2v": 0.2})
    tasks_late: dict = field(
        default_factory=lambda: {
            "t2v": 0.35,
            "i2v": 0.2,
            "carry": 0.2,
            "refs": 0.1,
            "continue": 0.15,
        }
    )
    # Of the carried-over scenes, the share that goes on where the previous scene ended (the rest
    # cut away; a camera move or two characters always cut, so about 38 % go on at 0.5). The
    # shipped model reads the previous scene when it goes on and not after a cut.
    carry_continue_share: float = 0.5
    curriculum: dict | None = None  # passed to the world's make_batch
    photos: bool = False  # camera moves also over scikit-image's photos (the `train` extra)
    text_dropout: float = 0.1
    context_noise: float = 0.05  # max noise level added to context latents
    logit_normal_std: float = 1.0
    # Location of the logit-normal (SD3's m): > 0 trains more at high noise, where a clip's
    # layout and motion are decided from the prompt alone (the first sampling steps).
    logit_normal_mean: float = 0.0
    # Weight of a second loss on the frame-to-frame differences of the prediction error
    # (train_steps.motion_loss): an error held still cancels there, one in how a clip moves does
    # not. Its minimiser is the plain loss's; the small models of `engine ablate` learned faster
    # with 1.0 (docs/gpu_training.md). 0 keeps the shipped model's recipe.
    motion_loss_weight: float = 0.0
    previous_frames: int = 9  # frames of the previous scene encoded -> 2 group latents kept
    latent_stat_batches: int = 8  # world batches of 8 clips measured for latent normalisation
    replay_ratio: int = 0  # replayed batches per freshly rendered one (0: always fresh)
    replay_size: int = 256  # how many recent fresh batches replay draws from (kept in memory)
    # Also keep those batches in the run folder (replay/, one file each: 12-35 MB on the CPU
    # cycle, about 6 GB for 300), so that a resumed run reads the ones it replays from before
    # its resume instead of rendering them again (engine/train_replay_store.py). Changes the
    # speed, not the run.
    replay_on_disk: bool = False
    data_pool: int = 0  # >0: cycle through this many fixed batches (overfitting checks)
    # Processes that render the coming world batches while the device trains (0: the training
    # process renders them). A GPU needs many: it trains a batch faster than a core renders one.
    data_workers: int = 0
    # Fresh batches prepared ahead (pictures to the device, encoded, prompts) in a thread, on a
    # CUDA stream of its own, while the device trains (engine/train_ahead.py; 0: in the step).
    # Changes the speed, not the run.
    prepare_ahead: int = 0
    # The user's own footage (engine/data/folder.py): captioned videos and images. A share of
    # the transformer's steps (t2v and i2v) draws from it; the rest from the story world.
    data_folder: str | None = None
    folder_share: float = 1.0
    cpu_bf16: bool = True  # train the transformer under bf16 autocast on CPUs that have it
    # Book-keeping
    checkpoint_minutes: float = 3.0
    val_every: int = 500
    # Tokens per validation batch (at most 16 items): fixed, not tokens_per_batch, so the
    # validation loss of a run with a GPU's bigger batches continues the same curve.
    val_tokens: int = 2048
    log_every: int = 50

    @classmethod
    def load(cls, path: Path, overrides: list[str] | None = None) -> TrainConfig:
        """The config in `path`; `overrides` are KEY=VALUE strings (VALUE in JSON, or a bare
        string) that replace its keys, e.g. a bigger batch for a GPU: tokens_per_batch=32768."""
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise EngineError(f"training config not found: {path}") from None
        except json.JSONDecodeError as e:
            raise EngineError(f"training config {path} is not valid JSON: {e.msg}") from None
        for item in overrides or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise EngineError(f"--set takes KEY=VALUE, got {item!r}")
            try:
                raw[key.strip()] = json.loads(value)
            except json.JSONDecodeError:
                raw[key.strip()] = value  # a bare string, e.g. sampler=multistep
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise EngineError(f"training config {path}: unknown keys {sorted(unknown)}")
        try:
            for key in ("vae_buckets", "dit_buckets"):
                if key in raw:
                    raw[key] = [Bucket(**b) for b in raw[key]]
            return cls(**raw)
        except TypeError as e:
            raise EngineError(f"training config {path}: {e}") from None

    def __post_init__(self) -> None:
        if self.rebase_init not in REBASE_INITS:
            raise EngineError(
                f"rebase_init must be one of {', '.join(REBASE_INITS)}, got {self.rebase_init!r}"
            )
        if not 0.0 <= self.carry_continue_share <= 1.0:
            raise EngineError(
                f"carry_continue_share is a share 0-1, got {self.carry_continue_share!r}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

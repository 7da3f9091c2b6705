"""Training: stage 1 the video autoencoder, stage 2 the diffusion transformer.

`python -m engine train --config FILE [--stage vae|dit|all] [--minutes N] [--resume]`.
A run folder keeps a resumable state (safetensors + JSON, no pickle); every checkpoint also
exports a loadable model folder. Data is a pure function of (seed, step), so a resumed run
sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from engine import checkpoint as ckpt
from engine.autoencoder_pack import same_encoder, tuned_before_transformer
from engine.autoencoder_widen import train_only_added, widen
from engine.model_bundle import ModelBundle, build_vae, recipe_dit_config
from engine.models.dit import DiT
from engine.precision import transformer_dtype
from engine.request import EngineError
from engine.train_adversarial import adversarial_generator_term, discriminator_backward
from engine.train_config import Bucket, TrainConfig
from engine.train_steps import (
    CPU_MICRO_TOKENS,
    dit_loss,
    encode_batch_video,
    make_world_batch,
    object_weight,
    prepare,
    world_order,
)


def pick(rng: torch.Generator, weights: dict) -> str:
    names = list(weights)
    w = torch.tensor([float(weights[n]) for n in names])
    return names[int(torch.multinomial(w, 1, generator=rng))]


def pick_bucket(rng: torch.Generator, buckets: list[Bucket]) -> Bucket:
    w = torch.tensor([b.weight for b in buckets])
    return buckets[int(torch.multinomial(w, 1, generator=rng))]


# fit: the step rate is measured after FIT_SKIP steps; the schedule is refitted often at first,
# then every 100 steps (each refit is a row of the log)
FIT_SKIP = 5


def fit_every(steps_measured: int) -> int:
    return 10 if steps_measured < 100 else 100


def lr_at(step: int, base: float, warmup: int, total: int, min_ratio: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))


class StepPhases:
    """Where the steps' time went since the last log row: `wait_s` waiting for the data workers
    or the preparing thread, `data_s` preparing the batch in the step (rendering without workers,
    encoding, prompts), `model_s` the transformer's step. One object for the whole run, reset in
    place by `means`, so that the data path's waits land in the row they belong to."""

    def __init__(self) -> None:
        self.sums = dict.fromkeys(("wait_s", "data_s", "model_s"), 0.0)

    def add(self, phase: str, seconds: float) -> None:
        self.sums[phase] += seconds

    def means(self, steps: int) -> dict[str, float]:
        """Each phase's mean over `steps` steps; the sums start again from zero."""
        out = {k: v / max(1, steps) for k, v in self.sums.items()}
        for k in self.sums:
            self.sums[k] = 0.0
        return out


@dataclass
class RunPaths:
    root: Path

    def state(self, stage: str) -> Path:
        return self.root / f"state_{stage}.safetensors"

    def meta(self, stage: str) -> Path:
        return self.root / f"state_{stage}.json"

    @property
    def log(self) -> Path:
        return self.root / "training_log.jsonl"

    @property
    def model(self) -> Path:
        return self.root / "model"


class Trainer:
    def __init__(self, cfg: TrainConfig, run_dir: Path, device: str, init_from: Path | None = None):
        self.cfg, self.device = cfg, torch.device(device)
        self.paths = RunPaths(Path(run_dir))
        self.paths.root.mkdir(parents=True, exist_ok=True)
        self._save_config()
        self.amp = torch.bfloat16 if self.device.type == "cuda" else None  # autoencoder
        self.amp_dit = transformer_dtype(self.device, cfg.cpu_bf16)  # transformer
        torch.manual_seed(cfg.seed)  # initial weights are part of the recipe
        self.vae = build_vae(cfg.vae).to(self.device)
        dit_cfg = recipe_dit_config(cfg)
        self.dit = DiT(dit_cfg).to(self.device)
        self.ema = DiT(dit_cfg).to(self.device).requires_grad_(False)
        self.ema.load_state_dict(self.dit.state_dict())
        self.text = None
        if init_from is not None and not self.paths.log.exists():
            # Continue the model's own training log, so its record spans every session.
            old = Path(init_from) / "training_log.jsonl"
            if old.is_file():
                self.paths.log.write_bytes(old.read_bytes())
        self._rebase_source = None  # a model folder over another latent space (engine.rebase)
        if init_from is not None:
            bundle = ModelBundle.load(init_from, device="cpu")
            if bundle.vae.config.latent_channels == self.vae.config.latent_channels:
                self.vae.load_state_dict(bundle.vae.state_dict())
                ckpt.load_growing(self.dit, bundle.dit.state_dict())
                self.ema.load_state_dict(self.dit.state_dict())
            else:  # the run's own autoencoder, and the transformer rebased onto it (train_dit)
                self._rebase_source = bundle
            self.record = bundle.config.get("training", {})
            # a mean of runs (engine.average) describes those weights, not what trains on from them
            self.record.pop("averaged", None)
        else:
            self.record = {}
        # A transformer continued from a model folder goes on from its step count: its log,
        # learning curve and schedule continue, and no early batch is seen twice.
        self.init_from = init_from
        self.init_step = int(self.record.get("dit_steps_done") or 0) if init_from else 0
        self.warm_from = 0  # the step a fresh optimizer started at, over weights already trained
        self.log_file = self.paths.log.open("a", encoding="utf-8")
        prior = self.record.get("totals", {})
        self.totals = {"dit_samples": 0, "vae_seconds": 0.0, "dit_seconds": 0.0, **prior}
        self.totals.setdefault("devices", [])
        name = torch.cuda.get_device_name() if self.device.type == "cuda" else self.device.type
        if name not in self.totals["devices"]:
            self.totals["devices"] = [*self.totals["devices"], name]
        self.device_name = name
        if cfg.photos:
            from engine.data.backgrounds import photos

            if not photos():
                raise EngineError(
                    "the config asks for photo backgrounds: pip install 'storyloom[train]' "
                    '(scikit-image), or set "photos": false'
                )
        self.folder_items = None
        if cfg.data_folder:
            from engine.data.folder import FolderDataError, scan_folder

            try:
                self.folder_items = scan_folder(cfg.data_folder)
            except FolderDataError as e:
                raise EngineError(str(e)) from None
        self._clock = time.time()
        self._cache: dict[int, object] = {}  # replayed batches by source step
        self._val_cache: dict[tuple, object] = {}
        self._prefetch = None  # engine.train_prefetch.WorldPrefetcher while data_workers run
        self._ahead = None  # engine.train_ahead.BatchesAhead while prepare_ahead runs
        self._ahead_to = 0  # fresh batches up to this step have been ordered from it
        self._text_lock = threading.Lock()  # the prompt encoder's cache is shared by two threads
        self._phases: StepPhases | None = None  # train_dit's step timing
        self._ordered_to = 0  # steps before this have had their world batches ordered
        self._store = None  # engine.train_replay_store.ReplayStore with replay_on_disk
        self._store_reads = 0  # batches read from it since the last step row

    # ----------------------------------------------------------------- logging
    def log(self, **row) -> None:
        row["time"] = round(time.time(), 1)
        self.log_file.write(json.dumps(row) + "\n")
        self.log_file.flush()
        if row.get("event") != "step" or row.get("step", 0) % (self.cfg.log_every * 4) == 0:
            print(json.dumps(row), flush=True)

    # ----------------------------------------------------------------- stage 1: VAE
    def train_vae(self, minutes: float, resume: bool) -> None:
        cfg = self.cfg
        params = list(self.vae.parameters())
        if cfg.vae_kept_channels:  # a widened autoencoder: only the added channels learn
            if not (resume and self.paths.state("vae").is_file()):
                self._widen_model_autoencoder()
            params = train_only_added(self.vae, cfg.vae_kept_channels)
        opt = torch.optim.AdamW(params, lr=cfg.vae_lr, betas=(0.9, 0.95), weight_decay=0.0)
        step = self._load_state("vae", [(self.vae, "vae.")], opt) if resume else 0
        deadline, last_ckpt = time.time() + minutes * 60, time.time()
        self.vae.train()
        while step < cfg.vae_steps and time.time() < deadline:
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg.vae_lr, cfg.warmup, cfg.vae_steps, cfg.min_lr_ratio)
            out, gn, b = self._vae_step(opt, step)
            step += 1
            if step % cfg.log_every == 0:
                self._log_vae_step("vae", step, out, gn, opt, b)
            if time.time() - last_ckpt > cfg.checkpoint_minutes * 60:
                self._save_state("vae", step, {"vae.": self.vae}, opt)
                last_ckpt = time.time()
        self.set_latent_stats()  # before saving: the DiT stage trains on normalised latents
        self._save_state("vae", step, {"vae.": self.vae}, opt)
        self.export()

    def _widen_model_autoencoder(self) -> None:
        """Start the autoencoder stage from --init-from's autoencoder, widened: its latents
        stay the first channels, and its compute goes on the record (the transformer's not)."""
        kept, src = self.cfg.vae_kept_channels, self._rebase_source
        if src is None or src.vae.config.latent_channels != kept:
            raise EngineError(
                f"vae_kept_channels {kept} needs --init-from a model folder whose autoencoder "
                f"has {kept} latent channels, fewer than the {self.vae.config.latent_channels} "
                "of this run's"
            )
        c, n = self.vae.config.latent_channels, self.vae.config.branch_channels
        if n not in (0, c - kept):
            raise EngineError(
                f"vae branch_channels {n} must be 0 or the {c - kept} channels widening adds"
            )
        self.vae.load_state_dict(widen(src.vae, c, branch=bool(n)).state_dict())
        own = {k: v for k, v in self.totals.items() if k in ("vae_seconds", "decoder_seconds")}
        self.totals = {
            "dit_samples": 0,
            "dit_seconds": 0.0,
            **own,
            "devices": self.totals["devices"],
        }
        self.log(
            event="widen",
            stage="vae",
            model=str(self.init_from),
            kept=kept,
            latent_channels=c,
            branch_channels=n,
        )

    def train_decoder(self, minutes: float, resume: bool, stop_at: int | None = None) -> None:
        """Fine-tune the autoencoder's decoder on its frozen encoder: the latents the transformer
        learned stay exactly the same, and the pictures it decodes get better. Starts from the
        run's transformer state (its autoencoder and weights), or from the model folder given
        with --init-from, and resumes exactly."""
        cfg = self.cfg
        if self.paths.state("dit").is_file():  # the model this decoder is for
            self._load_state("dit", [(self.dit, "dit."), (self.ema, "ema.")], None)
        elif self.init_from is None or self._rebase_source is not None:
            # no transformer yet: the decoder of this run's own autoencoder, which the
            # transformer will then start on (a new autoencoder made ready before a rebase)
            if not self.paths.state("vae").is_file():
                raise EngineError(
                    "no autoencoder to tune the decoder of: train --stage vae in this run "
                    "first, or give --init-from a model folder"
                )
            own = self._load_run_autoencoder()
            # the autoencoder's own record, not a model folder's: the transformer adds its own
            self.totals = {"dit_samples": 0, "dit_seconds": 0.0, **own}
            self.totals["devices"] = list(
                dict.fromkeys([*own.get("devices", []), self.device_name])
            )
        elif not (resume and self.paths.state("decoder").is_file()):
            # a model folder's decoder, tuned further: a fresh optimizer and schedule from step 0
            self.log(
                event="init",
                stage="decoder",
                step=0,
                model=str(self.init_from),
                batches=2 + self._decoder_cycles(),  # the salt below, on the record
            )
        dec = self.vae.decoder
        disc = self._discriminator()
        groups = [{"params": list(dec.parameters())}]
        if disc is not None:  # one optimizer, so one checkpoint and one schedule hold both
            groups.append({"params": list(disc.parameters())})
        opt = torch.optim.AdamW(groups, lr=cfg.decoder_lr, betas=(0.9, 0.95))
        modules = {"vae.": self.vae, **({"disc.": disc} if disc is not None else {})}
        step = 0
        if resume and self.paths.state("decoder").is_file():
            saved = ckpt.split_prefix(ckpt.load_state_file(self.paths.state("decoder")), "vae.")
            if self._same_latents(saved):
                step = self._load_state("decoder", [(m, k) for k, m in modules.items()], opt)
            else:  # tuned for an encoder since retrained: start again on the new one
                self.log(event="restart", stage="decoder", reason="autoencoder retrained")
        # Each cycle over the decoder (each --init-from) sees its own stream of world batches,
        # not the first cycle's again: its salt counts the cycles the log records (resume-stable).
        salt = 1 + self._decoder_cycles()
        self.vae.requires_grad_(False).eval()
        dec.requires_grad_(True).train()
        deadline, last_ckpt = time.time() + minutes * 60, time.time()
        last = min(cfg.decoder_steps, stop_at or cfg.decoder_steps)
        while step < last and time.time() < deadline:
            for g in opt.param_groups:
                g["lr"] = lr_at(
                    step, cfg.decoder_lr, cfg.warmup, cfg.decoder_steps, cfg.min_lr_ratio
                )
            out, gn, b = self._vae_step(opt, step, train_encoder=False, salt=salt, disc=disc)
            step += 1
            if step % cfg.log_every == 0:
                self._log_vae_step("decoder", step, out, gn, opt, b)
            if time.time() - last_ckpt > cfg.checkpoint_minutes * 60:
                self._save_state("decoder", step, modules, opt)
                self.export(self._dit_step())
                last_ckpt = time.time()
        self._save_state("decoder", step, modules, opt)
        self.export(self._dit_step())

    def _discriminator(self):
        """The decoder stage's patch discriminator, when the config asks for the adversarial
        term (seeded: its initial weights are part of the recipe, and resume is exact)."""
        if self.cfg.decoder_adv_weight <= 0:
            return None
        from engine.models.patch_disc import PatchDiscriminator

        torch.manual_seed(self.cfg.seed + 31)
        return PatchDiscriminator().to(self.device)

    def _decoder_cycles(self) -> int:
        """How many decoder cycles continued from a model folder this run's log records."""
        self.log_file.flush()
        n = 0
        for line in self.paths.log.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash
            n += r.get("event") == "init" and r.get("stage") == "decoder"
        return n

    def _vae_step(self, opt, step: int, train_encoder: bool = True, salt: int = 0, disc=None):
        """One autoencoder step on a world batch (salt: a different stream of batches); with a
        discriminator (the decoder stage), also the adversarial term and the discriminator's step."""
        cfg = self.cfg
        rng = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step + salt * 500_000_003)
        b = pick_bucket(rng, cfg.vae_buckets)
        n = max(1, cfg.vae_pixels_per_batch // (b.width * b.height * b.frames))
        seed = cfg.seed * 7919 + step + salt * 700_000_001
        torch.manual_seed(seed)  # the posterior's noise: a resumed run draws what it would have
        weigh = cfg.vae_object_weight > 0
        batch = make_world_batch(cfg, n, b, seed=seed, device=self.device, coverage=weigh)
        video = batch.video.permute(0, 4, 1, 2, 3) * 2 - 1  # (B, 3, T, H, W) in [-1, 1]
        weight = object_weight(batch.coverage, cfg.vae_object_weight) if weigh else None
        with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
            out = self.vae.loss(
                video,
                kl_weight=cfg.vae_kl_weight,
                train_encoder=train_encoder,
                weight=weight,
                latent_noise=0.0 if train_encoder else cfg.decoder_latent_noise,
                keep_output=disc is not None,
            )
        opt.zero_grad(set_to_none=True)
        if disc is None:
            out["loss"].backward()
        else:
            rec = out.pop("output")
            loss = out["loss"]
            if step >= cfg.decoder_adv_start:  # the discriminator has had its head start
                g, lam = adversarial_generator_term(
                    disc, rec, out["recon"], self.vae.decoder.conv_out.weight
                )
                loss = loss + cfg.decoder_adv_weight * lam * g
                out["adv_g"], out["adv_scale"] = g.detach(), lam
            loss.backward()
            out.update(discriminator_backward(disc, video, rec.detach()))
        params = list(opt.param_groups[0]["params"])  # the autoencoder's (the first group)
        gn = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        if disc is not None:
            torch.nn.utils.clip_grad_norm_(opt.param_groups[1]["params"], cfg.grad_clip)
        opt.step()
        return out, gn, b

    def _log_vae_step(self, stage: str, step: int, out: dict, gn, opt, b: Bucket) -> None:
        self.log(
            event="step",
            stage=stage,
            step=step,
            **{k: float(v.detach()) for k, v in out.items()},
            grad_norm=float(gn),
            lr=opt.param_groups[0]["lr"],
            bucket=[b.width, b.height, b.frames],
        )

    def _dit_step(self) -> int | None:
        meta = self.paths.meta("dit")
        if meta.is_file():
            return int(json.loads(meta.read_text())["step"])
        return self.init_step or None  # the model folder's transformer, as it came

    @torch.no_grad()
    def set_latent_stats(self) -> None:
        """Per-channel mean/std of latents over world batches, so the DiT sees unit-scale data."""
        self.vae.eval()
        kept = self.cfg.vae_kept_channels  # a widened autoencoder's old channels keep theirs
        old = self.vae.latent_mean[:kept].clone(), self.vae.latent_std[:kept].clone()
        self.vae.set_latent_stats(
            torch.zeros(self.vae.config.latent_channels, device=self.device),
            torch.ones(self.vae.config.latent_channels, device=self.device),
        )
        zs = []
        for i in range(self.cfg.latent_stat_batches):
            b = self.cfg.dit_buckets[0]
            batch = make_world_batch(self.cfg, 8, b, seed=10_000_019 + i, device=self.device)
            zs.append(encode_batch_video(self.vae, batch.video, self.amp).float())
        z = torch.cat([x.transpose(0, 1).reshape(x.shape[1], -1) for x in zs], dim=1)
        mean, std = z.mean(dim=1), z.std(dim=1).clamp_min(1e-3)
        mean[:kept], std[:kept] = old
        self.vae.set_latent_stats(mean, std)
        self.log(event="latent_stats", mean=mean.tolist(), std=std.tolist())

    # ----------------------------------------------------------------- stage 2: DiT
    def _text(self):
        if self.text is None:
            from engine.models.text import MiniLMEncoder

            lexical = self.dit.config.lexical_text
            self.text = MiniLMEncoder.load(device=str(self.device), lexical=lexical)
        return self.text

    def _dit_lr(self, step: int) -> float:
        cfg = self.cfg
        if self.warm_from and cfg.dit_restart:  # a new cycle over trained weights
            origin = cfg.dit_cycle_from or self.warm_from
            lr = lr_at(
                step - origin, cfg.dit_lr, cfg.warmup, cfg.dit_steps - origin, cfg.min_lr_ratio
            )
            if origin < self.warm_from:  # the cycle goes on over fresh moments: warm them up
                lr *= min(1.0, (step - self.warm_from + 1) / max(1, cfg.warmup))
            return lr
        lr = lr_at(step, cfg.dit_lr, cfg.warmup, cfg.dit_steps, cfg.min_lr_ratio)
        if self.warm_from:  # fresh moments over trained weights: warm up again
            lr *= min(1.0, (step - self.warm_from + 1) / max(1, cfg.warmup))
        return lr

    def _save_config(self) -> None:
        """The run's recipe as it now stands, beside its checkpoints (a fitted schedule changes it)."""
        ckpt.write_json(self.paths.root / "train_config.json", self.cfg.to_dict())

    def _fit_schedule(self, step: int, since: tuple[int, float], deadline: float) -> None:
        """Set dit_steps so the schedule ends when the time does, at the step rate measured
        since `since` (step, time). The step the context tasks begin at stays where it was."""
        cfg, now = self.cfg, time.time()
        per_step = (now - since[1]) / max(1, step - since[0])
        reserve = 10 + 0.02 * (deadline - since[1])  # the last validation, save and export
        total = step + max(1, int((deadline - reserve - now) / per_step))
        if total == cfg.dit_steps:
            return
        switch = cfg.context_start * cfg.dit_steps
        cfg.dit_steps, cfg.context_start = total, switch / total
        self._save_config()
        self.log(event="fit", stage="dit", step=step, dit_steps=total, s_per_step=per_step)

    def train_dit(
        self,
        minutes: float,
        resume: bool,
        stop_at: int | None = None,
        fit: bool = False,
        live_to: Path | None = None,
    ) -> None:
        """fit: end the learning-rate schedule (dit_steps) when the minutes end, at the step
        rate measured after the first steps (a GPU lease: a fixed time, an unknown speed).
        live_to: also write the live weights there with each checkpoint (export_live)."""
        cfg = self.cfg
        self.vae.eval().requires_grad_(False)
        groups: dict[tuple[bool, bool], list] = {}  # (not decayed, fast) -> parameters
        fast = tuple(cfg.fast_parts)
        for name, p in self.dit.named_parameters():
            plain = p.ndim < 2 or "embed" in name or "table" in name
            groups.setdefault((plain, bool(fast) and name.startswith(fast)), []).append(p)
        opt = torch.optim.AdamW(
            [
                {
                    "params": ps,
                    "weight_decay": 0.0 if plain else cfg.weight_decay,
                    "lr_scale": cfg.fast_lr_scale if is_fast else 1.0,
                }
                # decayed first, as before fast parts existed: an old run's state still loads,
                # and group 0 (whose rate the log shows) is the schedule's own
                for (plain, is_fast), ps in sorted(groups.items())
            ],
            lr=cfg.dit_lr,
            betas=(0.9, 0.99),
            fused=self.device.type == "cuda",
        )
        step = (
            self._load_state("dit", [(self.dit, "dit."), (self.ema, "ema.")], opt) if resume else 0
        )
        if not resume and self.init_from is None:  # a new transformer on this run's autoencoder
            if not self.paths.state("vae").is_file():
                raise EngineError(
                    "no autoencoder for the transformer: train --stage vae in this run first, "
                    "or give --init-from a model folder"
                )
            self._take_run_autoencoder()
        if step == 0 and self.init_step:
            if self.init_step >= cfg.dit_steps:
                raise EngineError(
                    f"{self.init_from} is at transformer step {self.init_step} and the config "
                    f"ends at dit_steps {cfg.dit_steps}: give more (--set dit_steps=N)"
                )
            if cfg.dit_cycle_from > self.init_step:
                raise EngineError(
                    f"dit_cycle_from {cfg.dit_cycle_from} is after {self.init_from}'s step "
                    f"{self.init_step}: a cycle cannot begin after the weights it continues"
                )
            step = self.warm_from = self.init_step
            self.log(event="init", stage="dit", step=step, model=str(self.init_from))
            if self._rebase_source is not None:
                self._rebase()
        val = self._val_batches()
        # the same step in less memory (and faster on a CPU's caches): a GPU takes the batch whole
        micro_tokens = cfg.micro_tokens or (CPU_MICRO_TOKENS if self.device.type == "cpu" else 0)
        deadline, last_ckpt = time.time() + minutes * 60, time.time()
        seen, t0, tokens_done = 0, time.time(), 0
        # Where a step's time goes, as means over the log window: waiting for the data workers,
        # preparing the batch (rendering without workers, encoding, text), the model's step.
        phases = self._phases = StepPhases()
        last = min(cfg.dit_steps, stop_at or cfg.dit_steps)
        first, since = step, None  # fit: the step rate is measured from `since`
        if cfg.data_workers > 0 and cfg.data_pool == 0:
            from engine.train_prefetch import WorldPrefetcher

            self._prefetch, self._ordered_to = WorldPrefetcher(cfg, cfg.data_workers), step
        if cfg.replay_on_disk and cfg.replay_ratio > 0 and cfg.data_pool == 0:
            from engine.models.text import encoder_dir
            from engine.train_replay_store import ReplayStore, batch_identity

            ident = batch_identity(self.cfg.to_dict(), self.vae, encoder_dir())
            self._store = ReplayStore(self.paths.root / "replay", self.device, ident)
            if self._store.error is not None:
                self.log(event="replay_store", stage="dit", error=self._store.error)
        if cfg.prepare_ahead > 0 and cfg.data_pool == 0:
            from engine.train_ahead import BatchesAhead

            self._ahead, self._ahead_to = BatchesAhead(self.device), step
        try:
            while step < last and time.time() < deadline:
                self.dit.train()
                for g in opt.param_groups:
                    g["lr"] = self._dit_lr(step) * g.get("lr_scale", 1.0)
                t_data, waited = time.perf_counter(), phases.sums["wait_s"]
                task, b, prepared = self._data_for(step)
                self._sync()
                t_model = time.perf_counter()
                phases.add("data_s", t_model - t_data - (phases.sums["wait_s"] - waited))
                opt.zero_grad(set_to_none=True)
                with torch.autocast(
                    self.device.type, dtype=self.amp_dit, enabled=self.amp_dit is not None
                ):
                    loss, info = dit_loss(
                        self, task, b, step, prepared=prepared, micro_tokens=micro_tokens
                    )
                if not info.get("backward_done"):  # micro_tokens: each slice's, done already
                    loss.backward()
                gn = torch.nn.utils.clip_grad_norm_(self.dit.parameters(), cfg.grad_clip)
                if torch.isfinite(gn):
                    opt.step()
                    self._ema_update(step)
                else:  # one bad batch must not poison the weights: skip it, on the record
                    self.log(event="skipped", stage="dit", step=step, task=task, loss=float(loss))
                phases.add("model_s", time.perf_counter() - t_model)  # isfinite(gn) synced
                step += 1
                seen += info["batch"]
                self.totals["dit_samples"] += info["batch"]
                tokens_done += info["tokens"]
                if step % cfg.log_every == 0:
                    dt = time.time() - t0
                    flops = 3 * tokens_done * self.dit.flops_per_token(info["seq"]) / max(dt, 1e-9)
                    self.log(
                        event="step",
                        stage="dit",
                        step=step,
                        loss=float(loss.detach()),
                        task=task,
                        # the total above includes it (times motion_loss_weight)
                        **(
                            {"motion_loss": float(info["motion_loss"])}
                            if "motion_loss" in info
                            else {}
                        ),
                        grad_norm=float(gn),
                        lr=opt.param_groups[0]["lr"],
                        samples_per_s=seen / dt,
                        tflops=flops / 1e12,
                        bucket=[b.width, b.height, b.frames],
                        **phases.means(cfg.log_every),
                        **self._ahead_timing(),
                        **self._store_counts(),
                    )
                    seen, t0, tokens_done = 0, time.time(), 0
                if step % cfg.val_every == 0:
                    self.log(event="val", stage="dit", step=step, **self.validate_parts(val))
                if time.time() - last_ckpt > cfg.checkpoint_minutes * 60:
                    self._save_state("dit", step, {"dit.": self.dit, "ema.": self.ema}, opt)
                    self._export_both(step, live_to)  # a session cut short leaves its last
                    last_ckpt = time.time()
                if fit and step - first == FIT_SKIP:  # past start-up (first batches, kernels)
                    since = (step, time.time())
                elif fit and since and (step - since[0]) % fit_every(step - since[0]) == 0:
                    self._fit_schedule(step, since, deadline)
                    last = min(cfg.dit_steps, stop_at or cfg.dit_steps)
        finally:
            if self._ahead is not None:  # first: its thread may be taking from the workers
                self._ahead.close()
                self._ahead = None
            if self._prefetch is not None:
                self._prefetch.close()
                self._prefetch = None
        self._save_state("dit", step, {"dit.": self.dit, "ema.": self.ema}, opt)
        self.log(event="val", stage="dit", step=step, **self.validate_parts(val))
        self._export_both(step, live_to)

    def _source_step(self, step: int) -> int:
        """Which fresh batch a step trains on. With replay, every (ratio + 1)-th step renders a
        new batch and the others replay a recent one: the world is expensive to render on a CPU.
        A pure function of the step (and of the step this run's optimizer started at), so a
        resumed run replays exactly the same batches."""
        r = self.cfg.replay_ratio
        if r <= 0 or step % (r + 1) == 0:
            return step
        fresh = step // (r + 1)
        # A run continued from a model folder replays only its own batches: one from before
        # its start is in no cache and was ordered from no worker, so the step would render it
        # in the training process (the first ~600 steps of the 2026-12-04 lease ran 1.4-2.5x
        # slower for it).
        first = min(fresh, -(-self.warm_from // (r + 1)))
        lo = max(0, first, fresh - self.cfg.replay_size + 1)
        g = torch.Generator().manual_seed(self.cfg.seed * 31 + step)
        return (lo + int(torch.randint(0, fresh - lo + 1, (1,), generator=g))) * (r + 1)

    def _choice(self, src: int) -> tuple[str, Bucket, str]:
        """The task, bucket and source (world or folder) of fresh batch `src`."""
        cfg = self.cfg
        rng = torch.Generator().manual_seed(cfg.seed * 1_000_003 + src)
        late = src >= cfg.context_start * cfg.dit_steps
        task = pick(rng, cfg.tasks_late if late else cfg.tasks_early)
        b = pick_bucket(rng, cfg.dit_buckets)
        source = "world"
        if self.folder_items is not None and float(torch.rand(1, generator=rng)) < cfg.folder_share:
            source, task = "folder", task if task in ("t2v", "i2v") else "t2v"
        return task, b, source

    def _order_ahead(self, step: int) -> None:
        """Have the data workers render the world batches of the coming fresh steps."""
        r = max(0, self.cfg.replay_ratio)
        ahead = step + 2 * self._prefetch.workers * (r + 1)
        for s in range(max(self._ordered_to, step), ahead):
            if s % (r + 1) == 0 and s not in self._cache:
                task, b, source = self._choice(s)
                if source == "world":
                    seed = self.cfg.seed * 7919 + s
                    self._prefetch.order(s, world_order(self, task, b, seed))
        self._ordered_to = max(self._ordered_to, ahead)

    def _ahead_timing(self) -> dict[str, float]:
        """For a step row: the mean time the preparing thread took per fresh batch."""
        if self._ahead is None:
            return {}
        seconds, n = self._ahead.timing()
        return {"prepare_s": seconds / max(1, n), "prepared": n}

    def _store_counts(self) -> dict[str, int]:
        """For a step row: the batches read from the replay store since the last row."""
        if self._store is None:
            return {}
        reads, self._store_reads = self._store_reads, 0
        return {"replay_read": reads, "replay_stored": len(self._store)}

    def _stored(self, src: int):
        """Batch `src` from the replay store on disk, or None."""
        if self._store is None:
            return None
        prepared = self._store.get(src)
        self._store_reads += prepared is not None
        return prepared

    def _make_fresh(self, src: int):
        """Fresh batch `src`, prepared (its world taken from the workers when they rendered it)."""
        task, b, source = self._choice(src)
        world = None
        if self._prefetch is not None and source == "world":
            world = self._prefetch.take(src)
        return prepare(self, task, b, self.cfg.seed * 7919 + src, source=source, world=world)

    def _data_ahead(self, step: int, src: int):
        """_data_for with prepare_ahead: the coming fresh batches are prepared in a thread."""
        cfg = self.cfg
        r = max(0, cfg.replay_ratio)
        if self._prefetch is not None:
            self._order_ahead(step)
        ahead = step + cfg.prepare_ahead * (r + 1) + 1
        for s in range(max(self._ahead_to, step), ahead):
            if s % (r + 1) == 0 and s not in self._cache:
                self._ahead.order(s, lambda s=s: self._make_fresh(s))
        self._ahead_to = max(self._ahead_to, ahead)
        prepared = self._cache.pop(src, None)
        if prepared is None:
            t = time.perf_counter()
            prepared = self._ahead.take(src)
            if self._phases is not None:
                self._phases.add("wait_s", time.perf_counter() - t)
            if prepared is None:  # never ordered: a replayed batch from before a resume
                prepared = self._stored(src)
            if prepared is None:
                prepared = self._make_fresh(src)
        if r > 0:
            self._keep_for_replay(src, prepared)
        return prepared

    def _keep_for_replay(self, src: int, prepared) -> None:
        self._cache[src] = prepared  # most recently used last
        while len(self._cache) > self.cfg.replay_size:
            self._cache.pop(next(iter(self._cache)))
        store = self._store
        if store is not None and src not in store and store.error is None:
            # replay never again reaches back past the window of the newest fresh batch
            store.keep_from(src - (self.cfg.replay_size - 1) * (self.cfg.replay_ratio + 1))
            store.put(src, prepared)
            if store.error is not None:
                self.log(event="replay_store", stage="dit", error=store.error)

    def encode_prompts(self, captions: list[str]):
        with self._text_lock:
            return self._text().encode(captions)

    def _data_for(self, step: int):
        cfg = self.cfg
        src = self._source_step(step)
        task, b, source = self._choice(src)
        if self._ahead is not None:
            return task, b, self._data_ahead(step, src)
        world = None
        if self._prefetch is not None:
            self._order_ahead(step)
            t = time.perf_counter()
            world = self._prefetch.take(src)
            if self._phases is not None:
                self._phases.add("wait_s", time.perf_counter() - t)
        if cfg.replay_ratio <= 0 and source == "world" and world is None:
            return task, b, None
        prepared = self._cache.pop(src, None)
        if prepared is None:
            prepared = self._stored(src)
        if prepared is None:
            prepared = prepare(self, task, b, cfg.seed * 7919 + src, source=source, world=world)
        if cfg.replay_ratio > 0:
            self._keep_for_replay(src, prepared)
        return task, b, prepared

    def _sync(self) -> None:
        """Wait for the device's queued work, so that the time of a phase is its own."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @torch.no_grad()
    def _ema_update(self, step: int) -> None:
        d = min(self.cfg.ema_decay, (1 + step) / (10 + step))
        ema, live = list(self.ema.parameters()), list(self.dit.parameters())
        assert len(ema) == len(live)
        torch._foreach_lerp_(ema, [p.detach() for p in live], 1 - d)  # one launch, not one each

    def _val_batches(self):
        # a moving bucket: validation covers motion and every context task
        b = next((b for b in self.cfg.dit_buckets if b.frames > 1), self.cfg.dit_buckets[0])
        return [
            (task, b, 99_000_000 + i) for i, task in enumerate(["t2v", "i2v", "carry", "continue"])
        ]

    def validate(self, val) -> float:
        """Loss of the EMA model on fixed batches at fixed noise levels (held-out captions)."""
        return self.validate_parts(val)["val_loss"]

    @torch.no_grad()
    def validate_parts(self, val) -> dict[str, float]:
        """val_loss, and val_object_loss: the same on the tokens the world's objects cover
        (weighted by their covered share), where the prompt's colour, shape and move live:
        a few % of the tokens, so the plain loss barely shows them."""
        losses, objects = [], []
        for task, b, seed in val:
            key = ("val", seed)
            if key not in self._val_cache:  # fixed batches: render and encode them once
                self._val_cache[key] = prepare(
                    self, task, b, self.cfg.seed * 7919 + seed, validation=True
                )
            with torch.autocast(
                self.device.type, dtype=self.amp_dit, enabled=self.amp_dit is not None
            ):
                loss, info = dit_loss(
                    self,
                    task,
                    b,
                    seed,
                    model=self.ema,
                    validation=True,
                    prepared=self._val_cache[key],
                )
            losses.append(float(loss))
            if "object_loss" in info:
                objects.append(float(info["object_loss"]))
        out = {"val_loss": sum(losses) / len(losses)}
        if objects:
            out["val_object_loss"] = sum(objects) / len(objects)
        return out

    # ----------------------------------------------------------------- state and export
    def _save_state(self, stage: str, step: int, modules: dict, opt) -> None:
        tensors = {}
        for prefix, m in modules.items():
            tensors.update({prefix + k: v for k, v in m.state_dict().items()})
        ot, scalars = ckpt.flatten_optimizer(opt)
        tensors.update(ot)
        if stage == "dit":  # the DiT state carries the frozen VAE it was trained against
            tensors.update({"vae." + k: v for k, v in self.vae.state_dict().items()})
        ckpt.atomic_save_tensors(self.paths.state(stage), tensors)
        now = time.time()
        spent, self._clock = now - self._clock, now
        self.totals[f"{stage}_seconds"] = self.totals.get(f"{stage}_seconds", 0.0) + spent
        per = dict(self.totals.get("device_seconds", {}))  # where the hours went: cpu, a GPU
        per[self.device_name] = per.get(self.device_name, 0.0) + spent
        self.totals["device_seconds"] = per
        ckpt.write_json(
            self.paths.meta(stage),
            {
                "step": step,
                "optimizer": scalars,
                "totals": self.totals,
                "warm_from": self.warm_from,
            },
        )
        self.log(event="checkpoint", stage=stage, step=step)

    def _load_state(self, stage: str, modules: list, opt) -> int:
        path = self.paths.state(stage)
        if not path.is_file():
            if stage == "dit" and self.paths.state("vae").is_file():
                self._take_run_autoencoder()
            return 0
        state = ckpt.load_state_file(path)
        meta = json.loads(self.paths.meta(stage).read_text())
        self.totals.update(meta.get("totals", {}))
        if stage == "dit":
            self.warm_from = int(meta.get("warm_from", 0))
        grown: set[str] = set()
        for module, prefix in modules:
            grown |= ckpt.load_growing(module, ckpt.split_prefix(state, prefix))
        if stage == "dit":
            self.vae.load_state_dict(ckpt.split_prefix(state, "vae."))
            self._adopt_retrained_autoencoder(int(meta["step"]))
            self._adopt_fine_tuned_decoder()
        if grown:  # the saved moments no longer line up with the parameters: fresh ones
            self.log(event="grow", stage=stage, step=meta["step"], added=sorted(grown))
        elif opt is None:  # only the weights were wanted
            return int(meta["step"])
        elif meta.get("weights_only"):  # a packed stage (engine.autoencoder_pack): fresh moments
            self.log(event="resume", stage=stage, step=meta["step"], optimizer="fresh")
            return int(meta["step"])
        else:
            ckpt.unflatten_optimizer(
                opt, {k: v.to(self.device) for k, v in state.items()}, meta["optimizer"]
            )
        self.log(event="resume", stage=stage, step=meta["step"])
        return int(meta["step"])

    def _take_run_autoencoder(self) -> None:
        """This run's own autoencoder stage, for the transformer to train on; its compute goes
        on the record of the model it becomes. Over a model folder's record (--init-from), the
        folder's transformer compute stays and its autoencoder's is retired. Idempotent."""
        own = self._load_run_autoencoder()
        if self.paths.state("decoder").is_file():
            tuned = json.loads(self.paths.meta("decoder").read_text()).get("totals", {})
            if tuned_before_transformer(tuned) and self._same_latents(
                ckpt.split_prefix(ckpt.load_state_file(self.paths.state("decoder")), "vae.")
            ):  # a decoder tuned on this autoencoder before any transformer: its record is
                # the autoencoder's and the decoder's minutes
                own = tuned
        if self.init_from is None:
            self.totals.update(own)
        else:
            self._merge_run_autoencoder_totals(own)
        self._adopt_fine_tuned_decoder()  # tuned on these latents before the transformer

    def _load_run_autoencoder(self) -> dict:
        """Load this run's autoencoder stage; returns its record (totals)."""
        vs = ckpt.split_prefix(ckpt.load_state_file(self.paths.state("vae")), "vae.")
        self.vae.load_state_dict(vs)
        return json.loads(self.paths.meta("vae").read_text()).get("totals", {})

    def _merge_run_autoencoder_totals(self, own: dict) -> None:
        """Over a model folder's record the folder's transformer compute stays, and its own
        autoencoder's is retired."""
        prior = self.record.get("totals", {})
        t = self.totals
        t.pop("decoder_seconds", None)
        t["vae_seconds"] = own.get("vae_seconds", 0.0)
        if own.get("decoder_seconds"):  # a decoder tuned before the transformer, packed with it
            t["decoder_seconds"] = own["decoder_seconds"]
        t["retired_vae_seconds"] = sum(
            prior.get(k, 0.0) for k in ("vae_seconds", "decoder_seconds", "retired_vae_seconds")
        )
        per = dict(prior.get("device_seconds", {}))
        for name, sec in own.get("device_seconds", {}).items():
            per[name] = per.get(name, 0.0) + sec
        t["device_seconds"] = per
        t["devices"] = list(dict.fromkeys([*prior.get("devices", []), *own.get("devices", [])]))

    def _continue_folder_log(self) -> None:
        """The run's log began with its autoencoder stage: put the model folder's log before
        it, so the rebased model's record still spans every session. Idempotent."""
        old = Path(self.init_from) / "training_log.jsonl"
        if not old.is_file():
            return
        head, mine = old.read_bytes(), self.paths.log.read_bytes()
        if mine.startswith(head):
            return
        self.log_file.close()
        ckpt.atomic_write_bytes(self.paths.log, head + mine)
        self.log_file = self.paths.log.open("a", encoding="utf-8")

    def _rebase(self) -> None:
        """The model folder's transformer onto this run's autoencoder, trained with other
        latent channels (engine.rebase): the blocks carry over, the latent layers are made new."""
        from engine.rebase import fit_bridge, rebase_dit

        cfg, old = self.cfg, self._rebase_source
        if not self.paths.state("vae").is_file():
            raise EngineError(
                f"{self.init_from} has {old.vae.config.latent_channels} latent channels and the "
                f"config's autoencoder {self.vae.config.latent_channels}: train that autoencoder "
                "in this run first (--stage vae), then the transformer"
            )
        self._take_run_autoencoder()  # loaded already when resumed; not when started afresh
        self._continue_folder_log()
        bridge = None
        if cfg.rebase_init == "bridge":
            old_vae = old.vae.to(self.device).eval()
            buckets = cfg.dit_buckets
            clips = (
                make_world_batch(
                    cfg, 8, buckets[i % len(buckets)], seed=20_000_003 + i, device=self.device
                ).video
                for i in range(cfg.latent_stat_batches)
            )
            bridge = fit_bridge(
                old_vae,
                self.vae.eval(),
                clips,
                self.dit.config.patch,
                lambda vae, video: encode_batch_video(vae, video, self.amp),
            )
            old.vae.to("cpu")
        made = rebase_dit(self.dit, old.dit.state_dict(), bridge)
        self.ema.load_state_dict(self.dit.state_dict())
        self._rebase_source = None
        self.log(
            event="rebase",
            stage="dit",
            step=self.init_step,
            latent_channels=[old.vae.config.latent_channels, self.vae.config.latent_channels],
            init=cfg.rebase_init,
            made=made,
            **(
                {
                    "bridge_r2_in": bridge.r2_to_old,
                    "bridge_r2_out": bridge.r2_to_new,
                    "bridge_tokens": bridge.tokens,
                }
                if bridge is not None
                else {}
            ),
        )

    def _same_latents(self, vae_state: dict) -> bool:
        return same_encoder(self.vae.state_dict(), vae_state)

    def _adopt_retrained_autoencoder(self, dit_step: int) -> None:
        """The autoencoder stage ran again after this transformer (say with object weights):
        the transformer continues on the new autoencoder's latents, on the record."""
        if not self.paths.state("vae").is_file():
            return
        vae = ckpt.split_prefix(ckpt.load_state_file(self.paths.state("vae")), "vae.")
        if self._same_latents(vae):
            return
        self.vae.load_state_dict(vae)
        vae_meta = json.loads(self.paths.meta("vae").read_text())
        seconds = vae_meta.get("totals", {}).get("vae_seconds", 0.0)
        self.totals["vae_seconds"] = max(self.totals.get("vae_seconds", 0.0), seconds)
        self.log(event="rebase", stage="dit", step=dit_step, vae_step=int(vae_meta["step"]))

    def _adopt_fine_tuned_decoder(self) -> None:
        """A decoder fine-tuned on these very latents replaces the autoencoder's own; one tuned
        for an earlier encoder no longer fits and is left out, its minutes kept on the record
        apart from the weights' own."""
        if not self.paths.state("decoder").is_file():
            return
        decoder = ckpt.split_prefix(ckpt.load_state_file(self.paths.state("decoder")), "vae.")
        fits = self._same_latents(decoder)
        if fits:
            self.vae.load_state_dict(decoder)
        # the decoder stage's record of its own minutes (and of those it retired) is the true one
        dec = json.loads(self.paths.meta("decoder").read_text()).get("totals", {})
        tuned, retired = dec.get("decoder_seconds", 0.0), dec.get("retired_decoder_seconds", 0.0)
        if fits:
            self.totals["decoder_seconds"] = tuned
        else:
            self.totals.pop("decoder_seconds", None)
            retired += tuned
        # a max, not a sum: every resume sees the same retired decoder again
        if retired := max(self.totals.get("retired_decoder_seconds", 0.0), retired):
            self.totals["retired_decoder_seconds"] = retired

    def export(self, step: int | None = None) -> Path:
        self._bundle(self.ema, step).save(self.paths.model, log=self.paths.log)
        return self.paths.model

    def _export_both(self, step: int, live_to: Path | None) -> None:
        """The EMA's model folder, and the live weights' where a later run is to go on."""
        self.export(step)
        if live_to is not None:
            self.export_live(step, live_to)

    def export_live(self, step: int, dest: Path) -> Path:
        """The live transformer (not its EMA) as a model folder with this run's recipe beside
        it: what a later run continues with --init-from when this run's checkpoint is gone (a
        new checkout). Written beside `dest` and renamed over it, so `dest` is never half one."""
        dest = Path(dest)
        tmp, old = dest.with_name(dest.name + ".partial"), dest.with_name(dest.name + ".old")
        if old.is_dir() and not dest.exists():  # a swap cut short: `old` is the last one kept
            old.rename(dest)
        for d in (tmp, old):
            shutil.rmtree(d, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            self._bundle(self.dit, step).save(tmp, log=self.paths.log)
            ckpt.write_json(tmp / "train_config.json", self.cfg.to_dict())
        except BaseException:  # a full disk: the last one kept stays where it was
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if dest.exists():
            dest.rename(old)
        tmp.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
        self.log(event="export_live", stage="dit", step=step, path=str(dest))
        return dest

    def _bundle(self, dit: DiT, step: int | None) -> ModelBundle:
        bundle = ModelBundle(
            vae=self.vae, dit=dit, config=ModelBundle.make_config(self.cfg, self.record)
        )
        bundle.config["training"]["dit_steps_done"] = step
        bundle.config["training"]["totals"] = dict(self.totals)
        return bundle


def run(
    cfg: TrainConfig,
    run_dir: Path,
    stage: str,
    minutes: float,
    resume: bool,
    device: str,
    init_from: Path | None = None,
    stop_at: int | None = None,
    fit: bool = False,
    live_to: Path | None = None,
) -> Path:
    if stage not in ("vae", "dit", "decoder", "all"):
        raise EngineError(f"unknown stage {stage!r} (vae, dit, decoder or all)")
    tr = Trainer(cfg, run_dir, device, init_from=init_from)
    start = time.time()
    if stage in ("vae", "all"):
        tr.train_vae(minutes if stage == "vae" else minutes * 0.25, resume)
    if stage in ("dit", "all"):
        left = minutes - (time.time() - start) / 60
        tr.train_dit(
            max(0.0, left), resume or stage == "all", stop_at=stop_at, fit=fit, live_to=live_to
        )
    if stage == "decoder" or (stage == "all" and cfg.decoder_steps > 0):
        left = minutes - (time.time() - start) / 60
        tr.train_decoder(
            max(0.0, left),
            resume or stage == "all",
            stop_at=stop_at if stage == "decoder" else None,
        )
    return tr.paths.model

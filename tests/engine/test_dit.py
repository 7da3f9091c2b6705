"""The diffusion transformer: shapes at any aspect, packing equals separate passes, context."""

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from engine.checkpoint import load_growing
from engine.models.dit import (
    DIT_CONFIGS,
    DiT,
    absolute_features,
    grid_positions,
    patchify,
    pooled_prompt,
    unpatchify,
)
from engine.sampling import (
    guided,
    resolution_shift,
    sample_euler,
    sample_multistep,
    sigma_schedule,
)
from engine.sequence import Context, build_sequence


def tiny(absolute_pos: bool = False) -> DiT:
    torch.manual_seed(0)
    model = DiT(replace(DIT_CONFIGS["test"], absolute_pos=absolute_pos)).eval()
    # adaLN-Zero starts as the zero function; perturb so the tests see a real network.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def text(B=1, L=5, dim=384):
    g = torch.Generator().manual_seed(1)
    return torch.randn(B, L, dim, generator=g), torch.ones(B, L, dtype=torch.bool)


@pytest.mark.parametrize("t,h,w", [(1, 4, 4), (3, 6, 10), (5, 10, 6), (2, 4, 10), (9, 2, 2)])
def test_patchify_roundtrip_and_forward_any_aspect(t, h, w):
    model = tiny()
    z = torch.randn(1, 4, t, h, w)
    seq = build_sequence(z, torch.tensor([0.7]), model.config.patch)
    assert seq.x.shape == (1, t * (h // 2) * (w // 2), 16)
    assert torch.equal(unpatchify(patchify(z, (1, 2, 2)), (1, 2, 2), (t, h // 2, w // 2)), z)
    out = model(seq.x, seq.sigma, seq.pos, seq.kind, *text())
    assert out.shape == seq.x.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("absolute_pos", [False, True])
def test_packed_sequences_equal_separate_passes(absolute_pos):
    model = tiny(absolute_pos)
    tx, tm = text()
    a = build_sequence(torch.randn(1, 4, 2, 4, 6), torch.tensor([0.3]), (1, 2, 2))
    b = build_sequence(torch.randn(1, 4, 3, 4, 4), torch.tensor([0.8]), (1, 2, 2))
    out_a = model(a.x, a.sigma, a.pos, a.kind, tx, tm)
    out_b = model(b.x, b.sigma, b.pos, b.kind, tx, tm)
    cat = lambda x, y: torch.cat([x, y], dim=1)  # noqa: E731
    seq_id = torch.cat([torch.zeros(a.x.shape[1]), torch.ones(b.x.shape[1])]).long()[None]
    packed = model(
        cat(a.x, b.x), cat(a.sigma, b.sigma), cat(a.pos, b.pos), cat(a.kind, b.kind), tx, tm, seq_id
    )
    n = a.x.shape[1]
    torch.testing.assert_close(packed[:, :n], out_a, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(packed[:, n:], out_b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("absolute_pos", [False, True])
def test_padding_is_ignored(absolute_pos):
    model = tiny(absolute_pos)
    tx, tm = text()
    a = build_sequence(torch.randn(1, 4, 2, 4, 4), torch.tensor([0.5]), (1, 2, 2))
    out = model(a.x, a.sigma, a.pos, a.kind, tx, tm)
    pad = 5
    x = torch.cat([a.x, torch.randn(1, pad, 16)], 1)
    sig = torch.cat([a.sigma, torch.rand(1, pad)], 1)
    pos = torch.cat([a.pos, torch.randn(1, pad, 3)], 1)
    kind = torch.cat([a.kind, torch.zeros(1, pad, dtype=torch.long)], 1)
    seq_id = torch.cat([torch.zeros(1, a.x.shape[1]), -torch.ones(1, pad)], 1).long()
    padded = model(x, sig, pos, kind, tx, tm, seq_id)
    torch.testing.assert_close(padded[:, : a.x.shape[1]], out, atol=1e-5, rtol=1e-4)


def test_text_padding_mask_is_respected():
    model = tiny()
    a = build_sequence(torch.randn(1, 4, 1, 4, 4), torch.tensor([0.5]), (1, 2, 2))
    tx, tm = text(L=5)
    tm[:, 3:] = False
    out1 = model(a.x, a.sigma, a.pos, a.kind, tx, tm)
    tx2 = tx.clone()
    tx2[:, 3:] = 100.0  # changing padded tokens changes nothing
    out2 = model(a.x, a.sigma, a.pos, a.kind, tx2, tm)
    torch.testing.assert_close(out1, out2)
    tx2[:, 0] += 1.0  # changing a real token does
    assert not torch.allclose(out1, model(a.x, a.sigma, a.pos, a.kind, tx2, tm))


def test_context_tokens_condition_the_clip_and_are_not_predicted():
    model = tiny()
    tx, tm = text()
    z = torch.randn(1, 4, 3, 4, 4)
    prev1, prev2 = torch.randn(1, 4, 2, 4, 4), torch.randn(1, 4, 2, 4, 4)
    s1 = build_sequence(z, torch.tensor([0.9]), (1, 2, 2), Context(previous=prev1))
    s2 = build_sequence(z, torch.tensor([0.9]), (1, 2, 2), Context(previous=prev2))
    assert s1.n_context == 2 * 2 * 2 and (s1.sigma[:, : s1.n_context] == 0).all()
    assert (s1.pos[0, : s1.n_context, 0] < 0).all()  # earlier frames at negative time
    o1 = model(s1.x, s1.sigma, s1.pos, s1.kind, tx, tm)[:, s1.n_context :]
    o2 = model(s2.x, s2.sigma, s2.pos, s2.kind, tx, tm)[:, s2.n_context :]
    assert (o1 - o2).abs().mean() > 1e-3
    start = torch.randn(1, 4, 1, 4, 4)
    s3 = build_sequence(z, torch.tensor([0.9]), (1, 2, 2), Context(start=start, references=[start]))
    assert s3.predict[:4].logical_not().all() and s3.predict[4:].all()
    assert torch.equal(s3.x[:, s3.n_context : s3.n_context + 4], patchify(start, (1, 2, 2)))


def test_grid_positions_shape():
    pos = grid_positions((2, 3, 4), t0=-2)
    assert pos.shape == (24, 3) and pos[0, 0] == -2 and pos[-1].tolist() == [-1, 2, 3]


def test_schedule_and_sampler_callback():
    s = sigma_schedule(10, resolution_shift(1008))
    assert s[0] == 1 and s[-1] == 0 and (s[1:] < s[:-1]).all()
    assert resolution_shift(4096) > resolution_shift(256)
    calls = []
    target = torch.full((1, 4), 2.0)
    # The exact velocity field towards one data point: Euler integration lands on it.
    out = sample_euler(
        lambda x, sig: (x - target) / max(sig, 1e-8), torch.randn(1, 4), s, callback=calls.append
    )
    assert len(calls) == 10 and [c["i"] for c in calls] == list(range(10))
    torch.testing.assert_close(out, target)


def test_multistep_sampler_is_second_order():
    """dx/dsigma = x from sigma 1 to 0 has the exact solution x(0) = x(1) / e. Euler's error
    halves when the steps double; the multistep solver's falls about fourfold, and it beats
    Euler with twice its steps (the point: as good a clip in fewer model calls)."""
    x1 = torch.ones(1, dtype=torch.float64)
    exact = float(x1) / torch.e

    def err(sampler, n):
        sig = torch.linspace(1.0, 0.0, n + 1, dtype=torch.float64)
        calls = []
        out = sampler(lambda x, s: x, x1.clone(), sig, callback=calls.append)
        assert len(calls) == n  # one model call per step, like Euler
        return abs(float(out) - exact)

    assert 1.7 < err(sample_euler, 10) / err(sample_euler, 20) < 2.3
    assert 3.3 < err(sample_multistep, 10) / err(sample_multistep, 20) < 4.7
    assert err(sample_multistep, 10) < err(sample_euler, 20) / 2
    # uneven steps: a velocity linear in sigma is followed exactly after the first (Euler) step,
    # which is off by h0^2 / 2; a wrong step ratio in the extrapolation would add to that
    sig = torch.tensor([1.0, 0.9, 0.5, 0.45, 0.1, 0.05, 0.0], dtype=torch.float64)
    out = sample_multistep(lambda x, s: torch.full_like(x, s), x1.clone(), sig)
    torch.testing.assert_close(out, x1 - 0.5 - 0.1**2 / 2)


def test_cancel_stops_within_one_step():
    calls = []

    def cb(d):
        calls.append(d["i"])
        if d["i"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sample_euler(lambda x, s: x, torch.zeros(1), sigma_schedule(20), callback=cb)
    assert calls == [0, 1, 2]


def test_guidance_formula():
    u, c, f = torch.tensor([0.0]), torch.tensor([1.0]), torch.tensor([3.0])
    assert guided(u, None, f, 2.0, 1.0).item() == 6.0
    assert guided(u, c, f, 2.0, 1.0).item() == 5.0  # context scale 1: plain text CFG around c
    assert guided(u, c, f, 1.0, 2.0).item() == 4.0


def test_pooled_prompt_is_the_unit_mean_of_the_real_tokens_and_zero_when_dropped():
    tx, tm = text(B=2, L=5)
    tm[0, 2:] = False
    tm[1] = False
    p = pooled_prompt(tx, tm)
    torch.testing.assert_close(p[0], F.normalize(tx[0, :2].mean(0), dim=0))
    assert torch.equal(p[1], torch.zeros(384))


def test_a_trained_model_without_the_pooled_prompt_grows_it_and_keeps_its_function():
    torch.manual_seed(0)
    old = DiT(replace(DIT_CONFIGS["test"], pooled_text=False)).eval()
    with torch.no_grad():
        for p in old.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    grown = DiT(DIT_CONFIGS["test"]).eval()
    assert load_growing(grown, old.state_dict()) == {"text_pool"}
    a = build_sequence(torch.randn(2, 4, 2, 4, 4), torch.tensor([0.3, 0.8]), (1, 2, 2))
    tx, tm = text(B=2)
    torch.testing.assert_close(
        grown(a.x, a.sigma, a.pos, a.kind, tx, tm), old(a.x, a.sigma, a.pos, a.kind, tx, tm)
    )
    with pytest.raises(RuntimeError, match="Unexpected"):  # never silently dropped
        load_growing(old, grown.state_dict())
    partial = {k: v for k, v in old.state_dict().items() if not k.startswith("out.")}
    with pytest.raises(RuntimeError, match="Missing"):  # only no-op parts may be missing
        load_growing(grown, partial)


def test_the_lexical_prompt_branch_grows_as_a_no_op_and_then_reads_the_input_embeddings():
    old = tiny()
    grown = DiT(replace(DIT_CONFIGS["test"], lexical_text=True)).eval()
    assert load_growing(grown, old.state_dict()) == {"text_lex"}
    a = build_sequence(torch.randn(2, 4, 2, 4, 4), torch.tensor([0.3, 0.8]), (1, 2, 2))
    tx, tm = text(B=2)
    g = torch.Generator().manual_seed(2)
    # the encoder's second half, the input embeddings: two different ones
    one, two = (torch.cat([tx, torch.randn(2, 5, 384, generator=g)], dim=-1) for _ in range(2))

    def out(t):
        return grown(a.x, a.sigma, a.pos, a.kind, t, tm)

    # grown: the old model exactly, whatever the input embeddings say
    torch.testing.assert_close(out(one), old(a.x, a.sigma, a.pos, a.kind, tx, tm))
    torch.testing.assert_close(out(one), out(two))
    with torch.no_grad():  # once trained, the branch makes the input embeddings matter
        grown.text_lex[-1].weight.normal_(std=0.05, generator=g)
    assert (out(one) - out(two)).abs().max() > 1e-3


def test_rotary_positions_alone_cannot_tell_where_a_clip_starts_absolute_ones_can():
    old = tiny()
    a = build_sequence(torch.randn(2, 4, 3, 4, 6), torch.tensor([0.3, 0.8]), (1, 2, 2))
    later = a.pos + torch.tensor([5.0, 0.0, 0.0])  # every token five latent frames later
    tx, tm = text(B=2)

    def out(m, pos):
        return m(a.x, a.sigma, pos, a.kind, tx, tm)

    # relative positions only: the same clip at another start time is the same clip
    torch.testing.assert_close(out(old, a.pos), out(old, later), atol=1e-5, rtol=1e-4)
    grown = DiT(replace(DIT_CONFIGS["test"], absolute_pos=True)).eval()
    assert load_growing(grown, old.state_dict()) == {"pos_embed"}
    torch.testing.assert_close(out(grown, a.pos), out(old, a.pos))  # grows as a no-op
    with torch.no_grad():
        grown.pos_embed[-1].weight.normal_(std=0.05, generator=torch.Generator().manual_seed(3))
    assert (out(grown, a.pos) - out(grown, later)).abs().max() > 1e-3


def test_absolute_features_place_a_token_by_its_share_of_the_frame():
    small = grid_positions((2, 3, 5))[None]  # (1, N, 3)
    big = grid_positions((2, 9, 15))[None]
    fs, fb = absolute_features(small), absolute_features(big)
    assert fs.shape == (1, 30, 32)
    # the top-left and bottom-right corners and the centre agree at any frame size
    for (ts, hs, ws), (hb, wb) in [((0, 0, 0), (0, 0)), ((1, 2, 4), (8, 14)), ((1, 1, 2), (4, 7))]:
        i = (ts * 3 + hs) * 5 + ws
        j = (ts * 9 + hb) * 15 + wb
        torch.testing.assert_close(fs[0, i], fb[0, j])
    assert not torch.allclose(fs[0, 0], fs[0, 4])  # left and right edge differ
    assert not torch.allclose(fs[0, 0], fs[0, 15])  # so do two latent frames

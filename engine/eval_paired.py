"""Two models' clips of the same held-out cases, compared case by case.

Each score of a few dozen cases moves by several points between two equally good checkpoints, so
"38 % against 36 %" says little on its own. Compared on the same cases, most cases agree; what
matters is how many the new model gets right that the old one got wrong, and the other way
round. A two-sided sign test on those cases says how likely so lopsided a split is by chance.
"""

from __future__ import annotations

import math

import numpy as np

# Lower is better for these; for every other score higher is better.
LOWER_IS_BETTER = ("i2v_later_error", "i2v_later_error_without", "flicker")
# Scores of the ground truth, the same whatever the model drew: nothing to compare.
NOT_COMPARED = ("consistency_ground_truth",)


def is_share(key: str) -> bool:
    """Whether a score is a share 0-1 (an accuracy, a similarity or a rate), shown as a percent."""
    return key.endswith("accuracy") or key.startswith(("consistency", "pattern_shown"))


def sign_test_p(better: int, worse: int) -> float:
    """Two-sided exact sign test: the chance of a split at least this lopsided between
    `better` and `worse` if either model were as likely to win each case."""
    n = better + worse
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(better, worse) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_comparison(
    keys: tuple[str, ...], these: list[dict[str, float]], those: list[dict[str, float]]
) -> dict[str, dict]:
    """Per score: on the cases both have it, the two means, in how many cases these clips are
    better and in how many worse than those, and the sign test's p of that split."""
    out: dict[str, dict] = {}
    for key in keys:
        if key in NOT_COMPARED:
            continue
        pairs = [
            (a[key], b[key]) for a, b in zip(these, those, strict=True) if key in a and key in b
        ]
        if not pairs:
            continue
        a, b = np.array(pairs, dtype=np.float64).T
        diff = (b - a) if key in LOWER_IS_BETTER else (a - b)
        better, worse = int((diff > 0).sum()), int((diff < 0).sum())
        out[key] = {
            "cases": len(pairs),
            "this": float(a.mean()),
            "against": float(b.mean()),
            "better": better,
            "worse": worse,
            "p": sign_test_p(better, worse),
        }
    return out


def context_pairs(cases: list, per_case: list[dict[str, float]]) -> dict[str, dict]:
    """Each story's scene generated with its context against the same scene without it (the same
    prompt and seed): in how many stories the context raised the character's consistency, in how
    many it lowered it, and the sign test's p; over every story, and apart for the scenes that go
    on where the previous one ended and for cuts. Empty without story cases."""
    by_name = {c.name: s for c, s in zip(cases, per_case, strict=True)}
    groups: dict[str, tuple[list, list]] = {
        "all": ([], []),
        "continuing": ([], []),
        "cut": ([], []),
    }
    for c in cases:
        twin = by_name.get(c.name.removesuffix("-with") + "-without")
        if c.kind != "story_with" or twin is None:
            continue
        with_ = {"consistency": by_name[c.name]["consistency_with_context"]}
        without = {"consistency": twin["consistency_without_context"]}
        for group in ("all", "continuing" if c.spec.continues else "cut"):
            groups[group][0].append(with_)
            groups[group][1].append(without)
    out: dict[str, dict] = {}
    for group, (these, those) in groups.items():
        if these:
            r = paired_comparison(("consistency",), these, those)["consistency"]
            out[group] = {
                "stories": r["cases"],
                "mean_gain": r["this"] - r["against"],
                "better": r["better"],
                "worse": r["worse"],
                "p": r["p"],
            }
    return out


def format_context_pairs(pairs: dict[str, dict]) -> str:
    rows = ["the same scene with its context against without (two-sided sign test):"]
    for group, r in pairs.items():
        rows.append(
            f"{group:12s} consistency {100 * r['mean_gain']:+6.1f} points   "
            f"better in {r['better']:3d}, worse in {r['worse']:3d} of {r['stories']:3d}   "
            f"p {r['p']:.3f}"
        )
    return "\n".join(rows)


def format_paired(paired: dict[str, dict], against: str) -> str:
    rows = [f"case by case against {against} (two-sided sign test):"]
    for key, r in paired.items():
        rows.append(
            f"{key:32s} {r['this']:8.3f} vs {r['against']:8.3f}   "
            f"better in {r['better']:3d}, worse in {r['worse']:3d} of {r['cases']:3d}   p {r['p']:.3f}"
        )
    return "\n".join(rows)

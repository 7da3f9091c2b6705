"""Whether a new model replaces the shipped one: a rule fixed before any candidate was scored.

It is read on the full check set (`eval --case-set check --against SHIPPED_CLIPS`), whose cases
chose nothing: the held-out set chose the shipped model, so a later model compared there starts
behind by that choice's luck. A model the rule accepts is then evaluated on the full held-out set
for the card, where a clear loss in what the prompt scores do not see (the start image's hold,
the character kept from the context) refuses it: the veto. docs/gpu_training.md, "The
procedure", gives both in words.
"""

from __future__ import annotations

# Each must not lose more cases than it wins.
GUARDED = ("colour_accuracy", "shape_accuracy")
# Together they must win more cases than they lose: what the prompt asks for.
PROMPT_SCORES = (
    "colour_accuracy",
    "shape_accuracy",
    "background_accuracy",
    "direction_accuracy",
    "camera_accuracy",
    "paraphrase_accuracy",
)

# Per case, lower or higher as `paired_comparison` reads them: the error of the frames after a
# start image (its mean over the cases, against the same without it, is `i2v_follow`) and the
# character's consistency with carry-over and references.
VETOING = ("i2v_later_error", "consistency_with_context")
VETO_P = 0.1  # a sign test's p under this is a clear loss


def acceptance(paired: dict[str, dict]) -> dict:
    """The rule applied to a case-by-case comparison (`paired_comparison`'s output): accept, the
    prompt scores' cases better and worse together, and why it refuses where it does."""
    reasons = []
    for key in GUARDED:
        r = paired.get(key)
        if r is None:
            reasons.append(f"no {key} to compare")
        elif r["better"] < r["worse"]:
            reasons.append(f"{key} better in {r['better']}, worse in {r['worse']}")
    better = sum(paired[k]["better"] for k in PROMPT_SCORES if k in paired)
    worse = sum(paired[k]["worse"] for k in PROMPT_SCORES if k in paired)
    if better <= worse:
        reasons.append("the prompt scores together win no more cases than they lose")
    return {"accept": not reasons, "better": better, "worse": worse, "reasons": reasons}


def format_acceptance(verdict: dict) -> str:
    head = "accept" if verdict["accept"] else "refuse: " + "; ".join(verdict["reasons"])
    return (
        f"the check set's rule: {head} (prompt scores better in {verdict['better']}, "
        f"worse in {verdict['worse']})"
    )


def held_out_veto(paired: dict[str, dict]) -> dict:
    """The held-out set's veto on a comparison (`paired_comparison`'s output): whether a score in
    `VETOING` is clearly lost (more cases worse than better, sign test p under `VETO_P`), and
    which. A comparison without them vetoes: it cannot show the loss is absent."""
    reasons = []
    for key in VETOING:
        r = paired.get(key)
        if r is None:
            reasons.append(f"no {key} to compare")
        elif r["worse"] > r["better"] and r["p"] < VETO_P:
            reasons.append(f"{key} better in {r['better']}, worse in {r['worse']} (p {r['p']:.2f})")
    return {"veto": bool(reasons), "reasons": reasons}


def format_veto(veto: dict) -> str:
    return "the held-out veto: " + (
        "refuse: " + "; ".join(veto["reasons"]) if veto["veto"] else "none"
    )

"""Whether a new model replaces the shipped one: a rule fixed before any candidate was scored.

It is read on the full check set (`eval --case-set check --against SHIPPED_CLIPS`), whose cases
chose nothing: the held-out set chose the shipped model, so a later model compared there starts
behind by that choice's luck. docs/gpu_training.md, "The procedure", gives the rule in words.
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

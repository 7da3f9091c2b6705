#!/bin/bash
# A CPU run that spans sessions: the model M continued over ONE learning-rate cycle of STEPS
# steps (one warm-up, one cosine), MINUTES at a time, so the sessions' samples add up in one run
# instead of each session restarting the cycle over the last one's result (docs/gpu_training.md,
# "One cycle over several sessions"). The schedule is fixed by STEPS, not fitted to the minutes,
# so a run that shares the cores is slower, not shorter.
# - The first call starts the cycle in RUN from M.
# - A later call on the same checkout resumes RUN from its checkpoint, optimizer moments included
#   (exact).
# - Every call ends by writing the live weights with the run's recipe to CYCLE (a model folder,
#   22 MB): commit it, and a call on a new checkout, where RUN is gone, goes on from it with fresh
#   moments that warm up again, the cycle's learning rate where it was.
# usage: [M=DIR RUN=DIR CYCLE=DIR STEPS=1600 LR=5e-5 WU=10 TOK=32768 EXTRA=...] \
#            bash docs/cpu_long_run.sh MINUTES [PYTHON]
# EXTRA: more train options, words without spaces, e.g. '--stop-at 26000 --set micro_tokens=4096'
MIN=${1:?usage: bash docs/cpu_long_run.sh MINUTES [PYTHON]}; PY=${2:-.venv/bin/python}
M=${M:-resources/models/storyloom-tiny}; RUN=${RUN:-runs/long}; CYCLE=${CYCLE:-training/cycle}
STEPS=${STEPS:-1600}
export PYTHONUNBUFFERED=1
# the prompt encoder packed for training (python -m engine text-pack -o .devcarry/text), if made
[ -z "${STORYLOOM_TEXT_ENCODER_DIR:-}" ] && [ -d .devcarry/text ] &&
  export STORYLOOM_TEXT_ENCODER_DIR=$PWD/.devcarry/text
step_of() {  # the transformer step of a run's checkpoint (state_dit.json) or a model folder
  $PY -c "import json, sys; d = json.load(open(sys.argv[1]))
print(d['step'] if 'step' in d else d['training']['dit_steps_done'])" "$1"
}
[ -d "$CYCLE.old" ] && [ ! -e "$CYCLE" ] &&  # a write of CYCLE cut between its two renames
  { echo "$CYCLE.old holds the cycle's last kept weights: rename it to $CYCLE"; exit 1; }
KEPT=0; [ -f "$CYCLE/config.json" ] && KEPT=$(step_of "$CYCLE/config.json")
if [ -f "$RUN/state_dit.json" ]; then  # resume: the run's own config holds its schedule
  AT=$(step_of "$RUN/state_dit.json")
  [ "$AT" -lt "$KEPT" ] && { echo "$RUN (step $AT) is behind $CYCLE (step $KEPT): remove $RUN"; exit 1; }
  CONFIG=$RUN/train_config.json; FROM=$M; OPTS=(--resume)
  echo "resuming $RUN at step $AT"
elif [ -e "$RUN" ]; then
  echo "$RUN exists but holds no transformer checkpoint: remove it first"; exit 1
elif [ "$KEPT" -gt 0 ]; then  # a new checkout: the cycle's live weights and recipe, from git
  CONFIG=$CYCLE/train_config.json; FROM=$CYCLE; OPTS=()
  read -r END ORIGIN < <($PY -c "import json; c = json.load(open('$CONFIG'))
print(c['dit_steps'], c['dit_cycle_from'])")
  [ "$KEPT" -ge "$END" ] && { echo "the cycle in $CYCLE ended at step $END: judge it, then remove it"; exit 1; }
  echo "going on with the cycle in $CYCLE at step $KEPT: one cycle from step $ORIGIN to step $END"
else
  CONFIG=$M/train_config.json; FROM=$M
  # the cycle ends STEPS after the model's step; the context tasks' start keeps its step
  read -r DONE END CS < <($PY -c "import json; c = json.load(open('$M/train_config.json'))
done = json.load(open('$M/config.json'))['training']['dit_steps_done']
print(done, done + $STEPS, c.get('context_start', 0.2) * c['dit_steps'] / (done + $STEPS))")
  OPTS=(--set dit_restart=true --set dit_cycle_from="$DONE" --set dit_steps="$END"
    --set context_start="$CS" --set dit_lr="${LR:-5e-5}" --set warmup="${WU:-10}"
    --set tokens_per_batch="${TOK:-32768}" --set replay_ratio=3 --set data_workers=0
    --set prepare_ahead=0 --set checkpoint_minutes=5)
  echo "starting $RUN from $M: one cycle to step $END"
fi
# The replay window also goes to $RUN/replay (up to 300 batches of 12-35 MB, 6 GB), so that a resume
# on the same checkout reads the batches it replays instead of rendering them again.
# shellcheck disable=SC2086  # EXTRA is words of --set options
$PY -m engine train --config "$CONFIG" --stage dit --init-from "$FROM" --run-dir "$RUN" \
  --device cpu --minutes "$MIN" --live-to "$CYCLE" "${OPTS[@]}" --set replay_on_disk=true \
  ${EXTRA:-}
RC=$?; echo "train rc=$RC"
grep -E '"event": "(val|checkpoint)"' "$RUN/training_log.jsonl" | tail -3
[ "$RC" = 0 ] && echo "the live weights are in $CYCLE: commit it to go on from a new checkout"
exit $RC

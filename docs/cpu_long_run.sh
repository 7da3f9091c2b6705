#!/bin/bash
# A CPU run that spans sessions: the model M continued over ONE learning-rate cycle of STEPS
# steps (one warm-up, one cosine), MINUTES at a time. The first call starts it in RUN; each later
# call resumes it there from its last checkpoint, optimizer moments included, so the sessions'
# samples add up in one run instead of each session restarting the cycle over the last one's
# result (docs/gpu_training.md, "One cycle over several sessions"). The schedule is fixed by
# STEPS, not fitted to the minutes, so a run that shares the cores is slower, not shorter.
# usage: [M=DIR RUN=DIR STEPS=1600 LR=5e-5 WU=10 TOK=32768 EXTRA=...] \
#            bash docs/cpu_long_run.sh MINUTES [PYTHON]
# EXTRA: more train options, words without spaces, e.g. '--stop-at 26000 --set micro_tokens=4096'
MIN=${1:?usage: bash docs/cpu_long_run.sh MINUTES [PYTHON]}; PY=${2:-.venv/bin/python}
M=${M:-resources/models/storyloom-tiny}; RUN=${RUN:-runs/long}; STEPS=${STEPS:-1600}
export PYTHONUNBUFFERED=1
# the prompt encoder packed for training (python -m engine text-pack -o .devcarry/text), if made
[ -z "${STORYLOOM_TEXT_ENCODER_DIR:-}" ] && [ -d .devcarry/text ] &&
  export STORYLOOM_TEXT_ENCODER_DIR=$PWD/.devcarry/text
if [ -f "$RUN/state_dit.json" ]; then  # resume: the run's own config holds its schedule
  CONFIG=$RUN/train_config.json; OPTS=(--resume)
  echo "resuming $RUN at step $($PY -c "import json; print(json.load(open('$RUN/state_dit.json'))['step'])")"
else
  [ -e "$RUN" ] && { echo "$RUN exists but holds no transformer checkpoint: remove it first"; exit 1; }
  CONFIG=$M/train_config.json
  # the cycle ends STEPS after the model's step; the context tasks' start keeps its step
  read -r END CS < <($PY -c "import json; c = json.load(open('$M/train_config.json'))
done = json.load(open('$M/config.json'))['training']['dit_steps_done']
print(done + $STEPS, c.get('context_start', 0.2) * c['dit_steps'] / (done + $STEPS))")
  OPTS=(--set dit_restart=true --set dit_steps="$END" --set context_start="$CS"
    --set dit_lr="${LR:-5e-5}" --set warmup="${WU:-10}" --set tokens_per_batch="${TOK:-32768}"
    --set replay_ratio=3 --set data_workers=0 --set prepare_ahead=0 --set checkpoint_minutes=5)
  echo "starting $RUN from $M: one cycle to step $END"
fi
# shellcheck disable=SC2086  # EXTRA is words of --set options
$PY -m engine train --config "$CONFIG" --stage dit --init-from "$M" --run-dir "$RUN" \
  --device cpu --minutes "$MIN" "${OPTS[@]}" ${EXTRA:-}
RC=$?; echo "train rc=$RC"
grep -E '"event": "(val|checkpoint)"' "$RUN/training_log.jsonl" | tail -3
exit $RC

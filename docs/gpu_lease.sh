#!/bin/bash
# One GPU lease: continue the shipped transformer for MINUTES, its schedule fitted to them, and
# leave the new model folder's files in $OUT (the weights split in parts of at most 15 MB).
# Run from the repository root on the GPU machine; docs/gpu_training.md has the whole procedure.
# usage: [LR=3e-4 WU=200 TOK=32768 AHEAD=2] bash docs/gpu_lease.sh [DEVICE [MINUTES [WORKERS [PYTHON]]]]
# EXTRA: more --set options, words without spaces, e.g.
#   EXTRA='--set tasks_late={"t2v":0.2,"i2v":0.2,"carry":0.35,"refs":0.15,"continue":0.1}'
# AE=32: first train a new autoencoder with 32 latent channels (the shipped recipe's AE_STEPS
# steps, at most AE_MIN minutes), then rebase the shipped transformer onto it (engine/rebase.py)
# for MINUTES, then tune its decoder for DEC_MIN minutes (0: not), all in one run folder.
# AE_FROM=DIR: instead, the autoencoder made ready beforehand (`python -m engine pack-autoencoder
# RUN -o DIR` on any machine, DIR carried along): the run folder's own, its decoder tuned already.
# M: the model folder to continue (default the shipped one; runs/gpu_model: the last call's).
DEV=${1:-cuda}; MIN=${2:-8.0}; WORKERS=${3:-14}; PY=${4:-python3}; TOK=${TOK:-32768}
export PYTHONUNBUFFERED=1 STORYLOOM_TEXT_ENCODER_DIR=$PWD/.devcarry/text
M=${M:-resources/models/storyloom-tiny}; R=/tmp/gpu_run; OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
rm -rf $R; T0=$(date +%s)
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv 2>/dev/null
nproc; $PY -c "import torch,einops,safetensors,tokenizers,numpy; print('torch', torch.__version__)"
# context_start is a share of dit_steps: keep the step it names where the model's config has it
CS=$($PY -c "import json; c = json.load(open('$M/train_config.json'));
print(c.get('context_start', 0.2) * c['dit_steps'] / 40000)")
AEOPT=()
if [ -n "${AE_FROM:-}" ]; then  # the new autoencoder, made ready elsewhere: the run's own stage
  mkdir -p $R && cp "$AE_FROM/state_vae.safetensors" "$AE_FROM/state_vae.json" $R/ || exit 1
  AEOPT=(--set "vae=$($PY -c "import json; print(json.dumps(json.load(open('$R/state_vae.json'))['vae'],
separators=(',', ':')))")")
  echo "autoencoder from $AE_FROM: ${AEOPT[1]}"; AE=; DEC_MIN=0
elif [ -n "${AE:-}" ]; then  # the new autoencoder: the run folder's own, before the transformer
  AEOPT=(--set "vae={\"base_channels\":16,\"latent_channels\":$AE}")
  timeout "$(awk "BEGIN{print int(${AE_MIN:-4} * 60 + 70)}")" $PY -m engine train \
    --config $M/train_config.json --stage vae --run-dir $R --device "$DEV" --minutes "${AE_MIN:-4}" \
    "${AEOPT[@]}" --set vae_steps="${AE_STEPS:-2200}" --set checkpoint_minutes=2 >> "$OUT/train.log" 2>&1
  echo "autoencoder rc=$? after $(( $(date +%s) - T0 )) s"; T1=$(date +%s)
  grep -E '"stage": "vae"' "$OUT/train.log" | grep -E '"(step|checkpoint)"' | tail -2
fi
T1=${T1:-$T0}
train() {  # $1 data workers, $2 minutes, $3 prepare_ahead; killed 70 s after its minutes at most
  timeout "$(awk "BEGIN{print int($2 * 60 + 70)}")" $PY -m engine train \
    --config $M/train_config.json --stage dit --init-from $M --run-dir $R --device "$DEV" \
    --minutes "$2" --fit-schedule --set tokens_per_batch="$TOK" --set replay_ratio=3 \
    --set data_workers="$1" --set prepare_ahead="$3" --set dit_restart=true --set checkpoint_minutes=2 \
    --set dit_cycle_from=0 --set replay_on_disk=false --set dit_steps=40000 \
    --set context_start="$CS" --set dit_lr="${LR:-3e-4}" --set warmup="${WU:-200}" \
    "${AEOPT[@]}" ${EXTRA:-} >> "$OUT/train.log" 2>&1
}
train "$WORKERS" "$MIN" "${AHEAD:-2}"; RC=$?; echo "train rc=$RC after $(( $(date +%s) - T0 )) s"
killed() {  # a SIGKILL (137) leaves nothing in the training log: say the likely cause here
  [ "$1" -eq 137 ] && echo "train was killed (SIGKILL): most likely out of memory; a smaller" \
    "--set micro_tokens=N (CPU default 8192) or tokens_per_batch keeps the step in memory"
}
killed $RC
if [ $RC -ne 0 ] && [ $RC -ne 124 ] && [ $(( $(date +%s) - T1 )) -lt 150 ]; then
  echo "failed at the start: again without data workers or preparing ahead"
  rm -f $R/state_dit.*  # the transformer's start; a new autoencoder stays
  [ ${#AEOPT[@]} -eq 0 ] && rm -rf $R
  train 0 "$(awk "BEGIN{print $MIN - ($(date +%s) - $T1) / 60.0}")" 0; RC=$?; echo "retry rc=$RC"
  killed $RC
fi
if [ -n "${AE:-}" ] && [ "${DEC_MIN:-0}" != 0 ]; then  # the recipe's decoder stage, on these latents
  timeout "$(awk "BEGIN{print int($DEC_MIN * 60 + 70)}")" $PY -m engine train \
    --config $M/train_config.json --stage decoder --resume --run-dir $R --device "$DEV" \
    --minutes "$DEC_MIN" "${AEOPT[@]}" --set checkpoint_minutes=2 >> "$OUT/train.log" 2>&1
  echo "decoder rc=$? after $(( $(date +%s) - T0 )) s"
fi
grep -E '"(fit|val|init)"' "$OUT/train.log" | tail -8; tail -5 "$OUT/train.log"
[ -f $R/training_log.jsonl ] && $PY - $R/training_log.jsonl <<'PHASES'
import json, sys  # where a step's time went: waiting for workers, preparing the batch, the model
rows = [json.loads(x) for x in open(sys.argv[1])]
inits = [i for i, r in enumerate(rows) if r.get("event") == "init" and r.get("stage") == "dit"]
rows = rows[inits[-1] if inits else 0:]  # this run's rows: the log carries the model's history
rows = [r for r in rows if r.get("event") == "step" and "model_s" in r][3:]  # past start-up
for k in ("wait_s", "data_s", "model_s", "prepare_s", "tflops"):
    print(k, round(sum(r.get(k, 0.0) for r in rows) / max(1, len(rows)), 4))
PHASES
if [ -f $R/model/model.safetensors ]; then  # the last export: at the end, or every 2 minutes
  cp $R/model/config.json $R/model/training_log.jsonl $R/train_config.json "$OUT/"
  split -b 15m $R/model/model.safetensors "$OUT/model.safetensors.part."
  # the next call on this machine can go on from it: M=runs/gpu_model (git-ignored, kept)
  rm -rf runs/gpu_model && cp -r $R/model runs/gpu_model && cp $R/train_config.json runs/gpu_model/
fi
ls -la "$OUT"; echo "total $(( $(date +%s) - T0 )) s"

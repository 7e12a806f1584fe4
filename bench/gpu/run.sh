#!/usr/bin/env bash
# The GPU measurement kit (docs/gpu.md): bench/gpu/run.sh [--tiny] [kit.py options]
#   --tiny   every step on CPU with tiny configs, through the same code (CI's dry run)
# Results: kit.json and kit.md under $OUT (default results/gpu). The Python is $PYTHON (default python3).
# Where lm_eval is not importable (the GPU machine), the wheels in bench/gpu/wheels/ (fetch_wheels.sh)
# are installed into /tmp/summeval-site first. The whole run stops at $KIT_TIMEOUT seconds (default 400);
# each step also stops itself inside its own budget, and the results are rewritten after every row.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-python3}
out=${OUT:-$root/results/gpu}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

if ! "$py" -c 'import lm_eval' 2>/dev/null; then
  shopt -s nullglob
  wheels=("$here"/wheels/*.whl)
  if [ ${#wheels[@]} -eq 0 ]; then
    echo "run.sh: $py cannot import lm_eval and bench/gpu/wheels/ holds no wheels; run bench/gpu/fetch_wheels.sh here first (docs/gpu.md)" >&2
    exit 2
  fi
  started=$(date +%s)
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/summeval-site "${wheels[@]}"
  export PYTHONPATH=/tmp/summeval-site${PYTHONPATH:+:$PYTHONPATH}
  echo "run.sh: installed ${#wheels[@]} wheels into /tmp/summeval-site in $(( $(date +%s) - started )) s"
fi
if ! "$py" -c 'import summeval' 2>/dev/null; then
  export PYTHONPATH=$root/src${PYTHONPATH:+:$PYTHONPATH}
fi
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem --format=csv,noheader || true
fi
exec timeout --signal=TERM --kill-after=10 "${KIT_TIMEOUT:-400}" "$py" "$here/kit.py" --out "$out" "$@"

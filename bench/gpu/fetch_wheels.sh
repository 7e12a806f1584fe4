#!/usr/bin/env bash
# Download the wheels of bench/gpu/wheels.txt (CPython 3.12, manylinux x86_64: the GPU machine) into
# bench/gpu/wheels/ (git-ignored), copy the embedded SmolLM2 tokenizer beside them (the GPU machine has
# no hub: the random-init models need a real tokenizer), and print the total size against the 64 MiB a
# device call may carry with the working tree. Run here, once, before the device call (docs/gpu.md).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-$root/.venv/bin/python}
dest=$here/wheels
mkdir -p "$dest"
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
mapfile -t wanted < <(grep -v '^\s*#' "$here/wheels.txt" | grep -v '^\s*$')
for spec in "${wanted[@]}"; do
  name=${spec%%==*}
  if [ "$name" = rouge_score ]; then  # an sdist only on PyPI: build its (pure Python) wheel here
    "$py" -m pip wheel -q --no-deps --no-binary=:none: -w "$dest" "$spec"
  else
    "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      "${platforms[@]}" -d "$dest" "$spec"
  fi
done
# the tokenizer: the embedded SmolLM2-135M-Instruct's (Apache-2.0), no weights
model=$(PYTHONPATH=$root/src${PYTHONPATH:+:$PYTHONPATH} "$py" -c 'from summeval.training.embedded_model import embedded_model_path; print(embedded_model_path())')
mkdir -p "$dest/tokenizer"
for f in tokenizer.json tokenizer_config.json special_tokens_map.json chat_template.jinja; do
  [ -f "$model/$f" ] && cp "$model/$f" "$dest/tokenizer/"
done
ls -l "$dest"
carried=$(du -sb "$dest" | cut -f1)
tree=$(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
limit=$((64 * 1024 * 1024))
echo "fetch_wheels: bench/gpu/wheels/ holds $(( carried / 1024 / 1024 )) MiB ($carried bytes); the working tree $(( tree / 1024 )) KiB; together $(( (carried + tree) * 100 / limit ))% of the 64 MiB a call carries"
if [ $((carried + tree)) -gt "$limit" ]; then
  echo "fetch_wheels: over 64 MiB: carry bitsandbytes in a second call (docs/gpu.md)" >&2
  exit 1
fi

#!/usr/bin/env bash
# The cost of portable math (docs/REPORTS.md, "Reproducibility"): r2q's training throughput (ResNet-20, data
# pipeline + augmentation + forward/backward/SGD step) with --math native and --math portable, interleaved on the
# same machine (native, portable, native, ...), median and every sample of each, per method and thread count.
# Usage: bench/compare_math_modes.sh [ROUNDS] [THREADS...]   (from the repository root; default 5 rounds, 1 and 2
# threads; METHODS (default "fp32 r2q"), BATCH (128) and BATCHES (20) in the environment)
set -euo pipefail
rounds=${1:-5}
shift || true
threads=("$@")
((${#threads[@]})) || threads=(1 2)
read -r -a methods <<<"${METHODS:-fp32 r2q}"
batch=${BATCH:-128}
batches=${BATCHES:-20}
bin=${TRAIN_THROUGHPUT:-build/bench/train_throughput}
[[ -x $bin ]] || { echo "build first: scripts/build (or set TRAIN_THROUGHPUT)" >&2; exit 2; }
rate() { sed 's/.*"images_per_s": *\([0-9.]*\).*/\1/' | xargs printf '%.1f'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
isa=$(grep -o -w -E 'avx2|avx512f|avx512_vnni|avx512_vpopcntdq' /proc/cpuinfo | sort -u | tr '\n' ' ')
echo "CPU: $cpu (${isa% }), $(nproc) cores; ResNet-20 training, batch $batch, $batches batches per sample, $rounds interleaved rounds"
printf '%-6s %-7s %12s %12s %8s   %s\n' method threads "native im/s" "portable" "ratio" "samples (native | portable)"
for method in "${methods[@]}"; do
  for t in "${threads[@]}"; do
    native=() portable=()
    for ((i = 0; i < rounds; i++)); do
      common=(--threads "$t" --batch "$batch" --batches "$batches" --method "$method")
      native+=("$("$bin" "${common[@]}" --math native | rate)")
      portable+=("$("$bin" "${common[@]}" --math portable | rate)")
    done
    a=$(median "${native[@]}") b=$(median "${portable[@]}")
    printf '%-6s %-7s %12.1f %12.1f %8.3f   %s | %s\n' "$method" "$t" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {print b / a}')" \
      "${native[*]}" "${portable[*]}"
  done
done

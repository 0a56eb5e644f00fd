#!/usr/bin/env bash
# Fake-quant training overhead: the training step of a quantized ResNet-20 (W=A=BITS) against FP32, same machine,
# interleaved runs (A B A B ...), medians. Usage: bench/compare_fake_quant_overhead.sh [METHOD] [BITS] [ROUNDS]
# [THREADS]   (from the repository root)
set -euo pipefail
method=${1:-r2q}
bits=${2:-2}
rounds=${3:-5}
threads=${4:-2}
bin=build/bench/train_throughput
[[ -x $bin ]] || { echo "build first: scripts/build" >&2; exit 2; }
rate() { "$bin" --threads "$threads" "$@" | sed 's/.*"images_per_s":\([0-9.]*\).*/\1/'; }
fp=() q=()
for ((i = 0; i < rounds; i++)); do
  fp+=("$(rate --method fp32)")
  q+=("$(rate --method "$method" --bits "$bits")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
m_fp=$(median "${fp[@]}")
m_q=$(median "${q[@]}")
echo "ResNet-20 training step, batch 128, $threads threads, $rounds interleaved rounds"
echo "FP32:            ${fp[*]} img/s, median $m_fp"
echo "$method W${bits}A${bits}:       ${q[*]} img/s, median $m_q"
awk -v a="$m_fp" -v b="$m_q" 'BEGIN {printf "step time %s / FP32: %.3fx\n", "'"$method"'", a / b}'

#!/usr/bin/env bash
# `sweep -j 2` (two worker processes, 1 thread each) against `sweep -j 1` (one process, 2 threads) on the same 8
# small real runs: ResNet-20 FP32 on 2,000 Fashion-MNIST training images, one epoch, clean test accuracy on 1,000
# images. Interleaved rounds (j1 j2 j1 j2 ...), fresh store each time; prints wall times and the speed-up.
# Usage: bench/sweep_parallel.sh [ROUNDS] [THREADS]   (from the repository root)
set -euo pipefail
rounds=${1:-2}
threads=${2:-2}
bin=$(realpath build/cli/r2q)
[[ -x $bin ]] || { echo "build first: scripts/build" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/parallel.json" <<JSON
{"name": "parallel", "base": {"dataset": {"name": "fashion-mnist", "train_limit": 2000, "test_limit": 1000,
 "val_size": 0}, "model": {"name": "resnet20"}, "quant": {"method": "fp32"},
 "train": {"epochs": 1, "batch_size": 128, "lr": 0.05}, "eval": {"fgsm_eps": [0]}},
 "grid": {"seed": [0, 1, 2, 3, 4, 5, 6, 7]}}
JSON
run() {  # JOBS -> wall seconds
  rm -rf "$dir/runs"
  local start end
  start=$(date +%s.%N)
  "$bin" sweep "$dir/parallel.json" --db "$dir/runs/r2q.db" -j "$1" --threads "$threads" >"$dir/log" 2>&1 ||
    { cat "$dir/log" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", e - s}'
}
j1=() j2=()
for ((i = 0; i < rounds; i++)); do
  j1+=("$(run 1)")
  j2+=("$(run 2)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
m1=$(median "${j1[@]}") m2=$(median "${j2[@]}")
echo "8 runs ResNet-20 FP32, 2000 images x 1 epoch, $threads threads in all, $rounds interleaved rounds"
echo "-j 1 (1 x $threads threads): ${j1[*]} s, median $m1"
echo "-j 2 (2 x $((threads / 2)) thread): ${j2[*]} s, median $m2"
awk -v a="$m1" -v b="$m2" 'BEGIN {printf "speed-up of -j 2: %.2fx\n", a / b}'

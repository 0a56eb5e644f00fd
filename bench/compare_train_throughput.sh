#!/usr/bin/env bash
# Side-by-side training throughput, r2q (C++) vs Python PyTorch, same machine, interleaved runs (A B A B ...),
# median of each. Usage: bench/compare_train_throughput.sh [ROUNDS] [THREADS]   (from the repository root)
set -euo pipefail
rounds=${1:-5}
threads=${2:-2}
cpp=build/bench/train_throughput
[[ -x $cpp ]] || { echo "build first: scripts/build" >&2; exit 2; }
r2q=() py=()
for ((i = 0; i < rounds; i++)); do
  r2q+=("$($cpp --threads "$threads" | sed 's/.*"images_per_s":\([0-9.]*\).*/\1/')")
  py+=("$(/usr/bin/python3 bench/train_throughput.py --threads "$threads" | sed 's/.*"images_per_s": \([0-9.]*\).*/\1/')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
m_r2q=$(median "${r2q[@]}")
m_py=$(median "${py[@]}")
echo "ResNet-20 FP32 training, batch 128, $threads threads, $rounds interleaved rounds"
echo "r2q (C++ loop incl. data + augmentation): ${r2q[*]} img/s, median $m_r2q"
echo "PyTorch (Python, step only):              ${py[*]} img/s, median $m_py"
awk -v a="$m_r2q" -v b="$m_py" 'BEGIN {printf "ratio r2q / PyTorch: %.3f\n", a / b}'

#!/usr/bin/env bash
# Side-by-side training throughput, r2q (C++) vs Python PyTorch, same machine, interleaved runs (A B C D A B ...),
# median of each: r2q as it trains (NHWC), r2q forced to NCHW, PyTorch as usually written (NCHW) and PyTorch with
# channels_last (NHWC). Usage: bench/compare_train_throughput.sh [ROUNDS] [THREADS] [DEVICE]   (from the repository
# root; DEVICE cpu or cuda, default cpu; BATCH and METHOD in the environment: default 128, fp32)
set -euo pipefail
rounds=${1:-5}
threads=${2:-2}
device=${3:-cpu}
batch=${BATCH:-128}
method=${METHOD:-fp32}
python=${PYTHON:-/usr/bin/python3}  # one with torch (Debian: python3-torch)
cpp=build/bench/train_throughput
[[ -x $cpp ]] || { echo "build first: scripts/build" >&2; exit 2; }
rate() { sed 's/.*"images_per_s": *\([0-9.]*\).*/\1/'; }
declare -a r2q_nhwc r2q_nchw py_nchw py_nhwc
for ((i = 0; i < rounds; i++)); do
  common=(--threads "$threads" --device "$device" --batch "$batch")
  r2q_nhwc+=("$($cpp "${common[@]}" --method "$method" --layout nhwc | rate)")
  py_nchw+=("$("$python" bench/train_throughput.py "${common[@]}" --layout nchw | rate)")
  r2q_nchw+=("$($cpp "${common[@]}" --method "$method" --layout nchw | rate)")
  py_nhwc+=("$("$python" bench/train_throughput.py "${common[@]}" --layout nhwc | rate)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
a=$(median "${r2q_nhwc[@]}"); b=$(median "${r2q_nchw[@]}"); c=$(median "${py_nchw[@]}"); d=$(median "${py_nhwc[@]}")
echo "ResNet-20 training (r2q: $method), batch $batch, $device, $threads threads, $rounds interleaved rounds (images/s, median)"
printf '%-52s %8.1f   (%s)\n' "r2q, NHWC (default; data + augmentation included)" "$a" "${r2q_nhwc[*]}"
printf '%-52s %8.1f   (%s)\n' "r2q, NCHW" "$b" "${r2q_nchw[*]}"
printf '%-52s %8.1f   (%s)\n' "PyTorch, NCHW (step only)" "$c" "${py_nchw[*]}"
printf '%-52s %8.1f   (%s)\n' "PyTorch, channels_last (step only)" "$d" "${py_nhwc[*]}"
awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN {
  printf "ratio r2q (default) / PyTorch (NCHW):         %.3f\n", a / c
  printf "ratio r2q (default) / PyTorch (channels_last): %.3f\n", a / d
  printf "ratio r2q NCHW / PyTorch NCHW (same layout):   %.3f\n", b / c }'

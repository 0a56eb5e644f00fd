#!/usr/bin/env bash
# Orchestration overhead of a sweep: N trivial runs (synthetic data, 16 training and 16 test images, one epoch of
# one batch, clean accuracy only), one process, one thread. Overhead per run = (wall time of `r2q sweep` - the
# training and evaluation time the runs themselves recorded) / N: expansion, run keys, claims, metric writes,
# checkpoints, environment capture, finish, progress. Usage: bench/sweep_overhead.sh [N] [DIR]  (from the
# repository root; DIR defaults to a fresh temp dir, removed afterwards)
set -euo pipefail
n=${1:-1000}
dir=${2:-$(mktemp -d)}
[[ $# -ge 2 ]] || trap 'rm -rf "$dir"' EXIT
bin=$(realpath build/cli/r2q)
[[ -x $bin ]] || { echo "build first: scripts/build" >&2; exit 2; }
seeds=$(seq -s, 0 $((n - 1)))
cat >"$dir/overhead.json" <<JSON
{"name": "overhead", "base": {"dataset": {"name": "synthetic", "train_limit": 16, "test_limit": 16, "val_size": 0},
 "model": {"name": "lenet"}, "quant": {"method": "fp32"}, "train": {"epochs": 1, "batch_size": 16},
 "eval": {"fgsm_eps": [0]}, "threads": 1},
 "grid": {"seed": [$seeds]}}
JSON
start=$(date +%s.%N)
"$bin" sweep "$dir/overhead.json" --db "$dir/overhead.db" --threads 1 >"$dir/sweep.log" 2>&1
end=$(date +%s.%N)
compute=$(sqlite3 "$dir/overhead.db" "SELECT COALESCE(SUM(value), 0) FROM metrics m
  WHERE m.name IN ('train/seconds', 'eval/seconds')
    AND m.step = (SELECT MAX(step) FROM metrics WHERE run_key = m.run_key AND name = m.name)")
finished=$(sqlite3 "$dir/overhead.db" "SELECT COUNT(*) FROM runs WHERE status = 'finished'")
awk -v s="$start" -v e="$end" -v c="$compute" -v n="$n" -v f="$finished" 'BEGIN {
  w = e - s
  printf "%d runs (%d finished): wall %.2f s, training+evaluation %.2f s\n", n, f, w, c
  printf "per run: %.1f ms wall, %.1f ms orchestration overhead\n", 1000 * w / n, 1000 * (w - c) / n }'

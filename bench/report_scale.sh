#!/usr/bin/env bash
# `r2q report` over a generated store of N runs (default 100,000): 100 experiments of N/100 runs each (8
# methods x N/4000 Lipschitz weights x 5 seeds), every run finished with clean, 3 FGSM and 1 PGD accuracies and a
# train time. The store is made by r2q (schema) and filled with SQL in one transaction. Times each format
# ROUNDS times (median). Usage: [KEEP_DIR=DIR] bench/report_scale.sh [N] [ROUNDS]   (from the repository root)
set -euo pipefail
n=${1:-100000}
rounds=${2:-5}
bin=$(realpath build/cli/r2q)
[[ -x $bin ]] || { echo "build first: scripts/build" >&2; exit 2; }
dir=${KEEP_DIR:-$(mktemp -d)}
[[ -n ${KEEP_DIR:-} ]] || trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"
# A store with r2q's schema: one tiny run.
cat >"$dir/seed.json" <<'JSON'
{"name": "seed", "base": {"dataset": {"name": "synthetic", "train_limit": 16, "test_limit": 16, "val_size": 0},
 "model": {"name": "lenet"}, "quant": {"method": "fp32"}, "train": {"epochs": 1, "batch_size": 16},
 "eval": {"fgsm_eps": [0]}, "threads": 1}}
JSON
"$bin" sweep "$dir/seed.json" --db "$dir/scale.db" >/dev/null 2>&1
per=$((n / 100))
weights=$((per / 40))
start=$(date +%s.%N)
sqlite3 "$dir/scale.db" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
CREATE TEMP TABLE gen AS
WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < $n - 1)
SELECT x, x / $per AS e, (x % $per) / ($weights * 5) AS m, ((x % $per) / 5) % $weights AS w, x % 5 AS seed,
       lower(hex(randomblob(32))) AS key FROM i;
INSERT INTO experiments (name, spec, source, created, updated)
  SELECT DISTINCT 'scale-' || e, '{}', 'generated', 0, 0 FROM gen;
INSERT INTO runs (run_key, config, status, attempt, git_commit, git_dirty, environment, created, seq, finished)
  SELECT key, json_object('dataset', json_object('name', 'fashion-mnist'), 'model', json_object('name', 'resnet20'),
           'quant', json_object('method', json_extract('["fp32","r2q","dorefa","pact","lsq","apot","lqnet","xnor"]',
                                                        '\$[' || m || ']'), 'weight_bits', 2),
           'loss', json_object('lipschitz', json_object('weight', w * 0.1)), 'seed', seed),
         'finished', 1, 'abcdef0123456789', 0,
         '{"libtorch":"1.13.0","cpu":{"model":"generated"},"r2q":{"version":"0.1.0"}}', 0, 1000 + x, 1
  FROM gen;
INSERT INTO experiment_runs (experiment, run_key, position) SELECT 'scale-' || e, key, x FROM gen;
INSERT INTO metrics (run_key, name, step, value, time)
  SELECT key, 'test/acc', 30, 0.9 - 0.01 * m + 0.001 * seed, 0 FROM gen UNION ALL
  SELECT key, 'test/fgsm/0.01/acc', 30, 0.7 - 0.01 * m + 0.002 * seed, 0 FROM gen UNION ALL
  SELECT key, 'test/fgsm/0.03/acc', 30, 0.5 - 0.01 * m + 0.003 * seed, 0 FROM gen UNION ALL
  SELECT key, 'test/fgsm/0.1/acc', 30, 0.2 - 0.01 * m + 0.004 * seed, 0 FROM gen UNION ALL
  SELECT key, 'test/pgd10/0.03/acc', 30, 0.3 - 0.01 * m + 0.003 * seed, 0 FROM gen UNION ALL
  SELECT key, 'train/seconds', 30, 600 + 10 * m + seed, 0 FROM gen;
COMMIT;
SQL
end=$(date +%s.%N)
runs=$(sqlite3 "$dir/scale.db" "SELECT count(*) FROM runs")
echo "store: $runs runs, $(du -m "$dir/scale.db" | cut -f1) MB (generated in $(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", e - s}') s)"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for format in markdown csv json latex; do
  times=()
  for ((r = 0; r < rounds; r++)); do
    s=$(date +%s.%N)
    "$bin" report --db "$dir/scale.db" --format "$format" -o "$dir/out.$format"
    e=$(date +%s.%N)
    times+=("$(awk -v s="$s" -v e="$e" 'BEGIN {printf "%.3f", e - s}')")
  done
  echo "report --format $format: ${times[*]} s, median $(median "${times[@]}") s ($(wc -c <"$dir/out.$format") bytes)"
done

#!/usr/bin/env bash
# Predictive pacing against its baselines in the simulator: every workload of
# configs/workloads/matrix-*.toml (5, 20, 100 agents x 15 %, 30 % live answers x
# 60 s, 300 s talk; 4 simulated hours each) on every seed of $SEEDS, all four modes
# per run on the same customers.
#
# Output: CSV rows `scenario,seed,mode,metric,value` in $OUT (metrics: occupancy,
# nuisance_day_pct, nuisance_30d_pct, under_cap, calls_per_hour, live_answers,
# nuisance, invariants_pass); then, on stdout, two markdown tables: seed 1's
# occupancy / nuisance rate per mode, and over all seeds the mean occupancy and
# the seeds over the cap. Progress on stderr.
#
# A failed invariant makes `outdial simulate` exit 3; the script records it
# (invariants_pass = 0) and goes on.
#
# Env (defaults):
#   SEEDS="1 2 3 4 5 6 7 8 9 10"
#   OUT=bench/results/simulate_matrix.csv
#   OUTDIAL=target/release/outdial  (built with `cargo build --release -p outdial`
#                                    when it is the default and missing)
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=${SEEDS:-"1 2 3 4 5 6 7 8 9 10"}
OUT=${OUT:-bench/results/simulate_matrix.csv}
OUTDIAL=${OUTDIAL:-target/release/outdial}
if [[ ! -x $OUTDIAL ]]; then
  cargo build --release -p outdial >&2
fi

mkdir -p "$(dirname "$OUT")"
echo "scenario,seed,mode,metric,value" >"$OUT"
for workload in configs/workloads/matrix-*.toml; do
  scenario=$(basename "$workload" .toml)
  for seed in $SEEDS; do
    echo "simulate $scenario seed $seed" >&2
    status=0
    json=$("$OUTDIAL" simulate --json --workload "$workload" --seed "$seed") || status=$?
    if [[ $status -ne 0 && $status -ne 3 ]]; then
      echo "outdial simulate failed ($status) on $workload" >&2
      exit 1
    fi
    python3 -c '
import json, sys
scenario, seed = sys.argv[1], sys.argv[2]
report = json.loads(sys.stdin.read())
for run in report["runs"]:
    row = {
        "occupancy": run["occupancy"],
        "nuisance_day_pct": run["nuisance_day_pct"],
        "nuisance_30d_pct": run["nuisance_30d_pct"],
        "under_cap": int(run["under_cap"]),
        "calls_per_hour": run["calls_per_hour"],
        "live_answers": run["live_answers"],
        "nuisance": run["nuisance"],
        "invariants_pass": int(all(i["pass"] for i in run["invariants"])),
    }
    mode = run["mode"]
    for metric, value in row.items():
        print(f"{scenario},{seed},{mode},{metric},{value}")
' "$scenario" "$seed" <<<"$json" >>"$OUT"
  done
done

python3 - "$OUT" <<'EOF'
import csv, sys
from collections import defaultdict

rows = defaultdict(dict)  # (scenario, seed, mode) -> metric -> value
for r in csv.DictReader(open(sys.argv[1])):
    rows[(r["scenario"], int(r["seed"]), r["mode"])][r["metric"]] = float(r["value"])
scenarios = sorted({k[0] for k in rows})
modes = ["predictive", "progressive", "fixed-ratio", "vicidial-adapt"]
seeds = sorted({k[1] for k in rows})

print("Seed 1: occupancy / nuisance rate (worst calendar day); * = over the 3 % cap\n")
print("| workload | " + " | ".join(modes) + " |")
print("| --- |" + " --- |" * len(modes))
for s in scenarios:
    cells = []
    for m in modes:
        r = rows.get((s, seeds[0], m))
        if r is None:
            cells.append("-")
            continue
        star = "" if r["under_cap"] else "*"
        cells.append(f"{r['occupancy'] * 100:.1f} % / {r['nuisance_day_pct']:.2f} %{star}")
    print(f"| {s} | " + " | ".join(cells) + " |")

print(f"\nSeeds {seeds[0]}-{seeds[-1]}: mean occupancy (seeds over the cap); "
      "predictive's worst nuisance rate\n")
print("| workload | " + " | ".join(modes) + " | predictive worst |")
print("| --- |" + " --- |" * (len(modes) + 1))
for s in scenarios:
    cells = []
    for m in modes:
        runs = [rows[(s, seed, m)] for seed in seeds if (s, seed, m) in rows]
        occ = sum(r["occupancy"] for r in runs) / len(runs)
        over = sum(1 for r in runs if not r["under_cap"])
        cells.append(f"{occ * 100:.1f} % ({over})")
    worst = max(rows[(s, seed, "predictive")]["nuisance_day_pct"] for seed in seeds)
    print(f"| {s} | " + " | ".join(cells) + f" | {worst:.2f} % |")
EOF

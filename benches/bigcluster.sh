#!/usr/bin/env bash
# Big-cluster benchmark (issue #13): golive against the simulator holding N real-sized
# pods (about 13 KB of JSON each) in 20 extra namespaces, beside the Gravl demo cluster.
#
#   benches/bigcluster.sh [N...]        (default: 5000 20000 50000)
#
# For the demo cluster alone (N=0, the reference) and for each N: generates the pods
# (crates/golive-sim/examples/big_pods.rs, cached in $GEN_DIR), starts `golive sim` on
# assets/crds + assets/demo/gravl + the pods, and measures
#   - sim: time from start to listening (its kubeconfig written), RSS once loaded, peak RSS;
#   - for two plans, `gravl` (the demo plan: its pod watch is on gravl-staging, so the
#     extra pods cost it nothing on the client) and `big` (gravl plus a gate with
#     `pods_ready` in each load-NN namespace, so golive watches every extra pod):
#     - `golive check`: wall, peak RSS, and that the Gravl gates' verdicts equal N=0's
#       (and, for `big`, that the load-pods gate passes);
#     - `golive run` in tmux: time to the first frame whose gates all have verdicts
#       (only the load-test gate may stay unknown: no load runs), peak RSS, RSS after
#       $IDLE_WAIT seconds (default 60) and its CPU over that idle window;
#   - `kubectl get pods -A`: wall, peak RSS;
#   - a raw `curl` of /api/v1/pods (the whole list, as the client needs it): wall, bytes.
# Then prints a table, the ratios and the goals: check peak RSS <= 100 MB at 20k, check
# wall <= 2.5x the raw fetch, <= 2 KB of RSS per extra pod, idle CPU < 1 %; for the sim,
# listening within 5 s and RSS < 1.5x the manifests' size.
#
# Environment: GOLIVE_BIN (default: target/release/golive, built here), OUT (results
# directory), GEN_DIR (generated manifests, default $OUT), IDLE_WAIT (seconds),
# SKIP_BUILD=1. Needs tmux, kubectl, curl, python3 and /usr/bin/time (apt: time);
# without /usr/bin/time, peaks come from VmHWM in /proc. Only talks to 127.0.0.1.
set -euo pipefail

NS=("$@")
[ "${#NS[@]}" -eq 0 ] && NS=(5000 20000 50000)
for n in "${NS[@]}"; do
  [ "$n" -gt 0 ] 2>/dev/null || { echo "pod counts must be positive numbers, got '$n'" >&2; exit 2; }
done
IDLE_WAIT="${IDLE_WAIT:-60}"
[ "$IDLE_WAIT" -gt 0 ] 2>/dev/null || { echo "IDLE_WAIT must be a number of seconds" >&2; exit 2; }
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$(mktemp -d /tmp/golive-bigcluster.XXXXXX)}"
GEN_DIR="${GEN_DIR:-$OUT}"
mkdir -p "$OUT" "$GEN_DIR"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
for tool in tmux kubectl curl python3; do
  command -v "$tool" >/dev/null || { echo "bigcluster.sh needs $tool" >&2; exit 2; }
done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release -q && cargo build --release -q -p golive-sim --example big_pods)
fi
GOLIVE="${GOLIVE_BIN:-$TARGET_DIR/release/golive}"
GEN="$TARGET_DIR/release/examples/big_pods"
TICK="$(getconf CLK_TCK)"
# A tmux server of our own, kept up by an idle session between runs.
SOCKET="golive-bigcluster-$$"
tmx() { tmux -L "$SOCKET" "$@"; }
SIM_PID=""

cleanup() {
  tmx kill-server 2>/dev/null || true
  if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# Runs a command under /usr/bin/time -v (or /proc sampling without it); writes
# "<wall seconds> <peak RSS kB> <exit code>" to $OUT/<name>.usage.
timed() { # name, command...
  local name="$1"; shift
  local code=0
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$OUT/$name.time" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" || code=$?
    python3 - "$OUT/$name.time" "$code" > "$OUT/$name.usage" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
secs = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print(f"{secs:.3f} {rss} {sys.argv[2]}")
PY
  else
    local start peak=0 pid
    start="$(now)"
    "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      local h; h="$(hwm_kb "$pid")"; [ "${h:-0}" -gt "$peak" ] && peak="$h"
      sleep 0.02
    done
    wait "$pid" || code=$?
    echo "$(python3 -c "print(f'{$(now) - $start:.3f}')") $peak $code" > "$OUT/$name.usage"
  fi
}

# The gates' title, e.g. "Gates  ✓5 ✗2 ?1": done when at most $1 gates are undecided
# and none is connecting or listing.
frame_decided() { # allowed undecided gates; pane text on stdin
  python3 -c '
import re, sys
text = sys.stdin.read()
title = re.search(r"Gates\s+((?:[✓✗?!◌]\d+\s*)+)", text)
if not title or "connecting" in text or "listing" in text:
    sys.exit(1)
undecided = sum(int(n) for n in re.findall(r"[?◌](\d+)", title.group(1)))
sys.exit(0 if undecided <= int(sys.argv[1]) else 1)' "$1"
}

# golive check and golive run for one plan; writes $OUT/<tag>.json with their figures.
measure_plan() { # tag, plan, kubeconfig
  local tag="$1" plan="$2" kube="$3"
  timed "$tag.check" "$GOLIVE" check --plan "$plan" --kubeconfig "$kube" --format json
  # The cockpit's first full frame: as many gates decided as `check` decided (the load
  # test and the monitoring gates stay unknown here: no load runs, no Prometheus).
  local undecided
  undecided="$(python3 -c '
import json, sys
try:
    gates = json.load(open(sys.argv[1]))["gates"]
except Exception:
    print(99); sys.exit()
print(sum(1 for g in gates if g["status"] == "unknown"))' "$OUT/$tag.check.out")"

  local state="$OUT/$tag.state"
  mkdir -p "$state"
  local session="${tag//./-}"
  tmx new-session -d -s "$session" -x 160 -y 45 \
    "exec '$GOLIVE' run --plan '$plan' --kubeconfig '$kube' --state-dir '$state' --operator bench"
  local run_start; run_start="$(now)"
  local run_pid; run_pid="$(tmx list-panes -t "$session" -F '#{pane_pid}')"
  local first_frame=""
  while [ -z "$first_frame" ]; do
    if tmx capture-pane -p -t "$session" 2>/dev/null | frame_decided "$undecided"; then
      first_frame="$(python3 -c "print(f'{$(now) - $run_start:.3f}')")"
    elif python3 -c "import sys; sys.exit(0 if $(now) - $run_start > 120 else 1)"; then
      first_frame="timeout"
    else
      sleep 0.05
    fi
  done
  tmx capture-pane -p -t "$session" > "$OUT/$tag.run.frame"
  local ticks_before; ticks_before="$(cpu_ticks "$run_pid")"
  sleep "$IDLE_WAIT"
  local ticks_after; ticks_after="$(cpu_ticks "$run_pid")"
  local run_steady; run_steady="$(rss_kb "$run_pid")"
  local run_peak; run_peak="$(hwm_kb "$run_pid")"
  tmx capture-pane -p -t "$session" > "$OUT/$tag.run.frame-after"
  tmx kill-session -t "$session"
  local idle_cpu; idle_cpu="$(python3 -c "print(f'{($ticks_after - $ticks_before) / $TICK / $IDLE_WAIT * 100:.2f}')")"
  local check_wall check_peak check_code
  read -r check_wall check_peak check_code < "$OUT/$tag.check.usage"
  cat > "$OUT/$tag.json" <<JSON
{"check_wall_s": $check_wall, "check_peak_rss_kb": $check_peak, "check_exit": $check_code,
 "run_first_frame_s": "$first_frame", "run_peak_rss_kb": $run_peak, "run_steady_rss_kb": $run_steady,
 "run_idle_cpu_pct": $idle_cpu}
JSON
}

measure() { # N (0: the demo cluster alone)
  local n="$1" tag="n$1"
  local manifests=(--manifests "$ROOT/assets/crds" --manifests "$ROOT/assets/demo/gravl")
  local manifest_bytes=0
  if [ "$n" -gt 0 ]; then
    local pods="$GEN_DIR/big-pods-$n.yaml"
    [ -s "$pods" ] || "$GEN" "$n" "$pods"
    manifests+=(--manifests "$pods")
    manifest_bytes="$(stat -c %s "$pods")"
  fi
  local kube="$OUT/$tag.kubeconfig"
  rm -f "$kube"
  local start; start="$(now)"
  "$GOLIVE" sim "${manifests[@]}" --kubeconfig-out "$kube" > "$OUT/$tag.sim.out" 2> "$OUT/$tag.sim.err" &
  SIM_PID=$!
  while [ ! -s "$kube" ]; do
    kill -0 "$SIM_PID" 2>/dev/null || { echo "golive sim exited; see $OUT/$tag.sim.err" >&2; exit 1; }
    sleep 0.02
  done
  local listening; listening="$(python3 -c "print(f'{$(now) - $start:.3f}')")"
  sleep 1
  local sim_loaded_rss; sim_loaded_rss="$(rss_kb "$SIM_PID")"
  local server; server="$(awk '/server:/ {print $2; exit}' "$kube")"

  # load-test stays unknown without a load run; load-pods too while there are no pods.
  measure_plan "$tag.gravl" gravl "$kube"
  measure_plan "$tag.big" "$BIG_PLAN" "$kube"

  timed "$tag.kubectl" kubectl --kubeconfig "$kube" get pods -A
  local curl_start; curl_start="$(now)"
  local curl_bytes; curl_bytes="$(curl -sS -o /dev/null -w '%{size_download}' "$server/api/v1/pods")"
  local curl_wall; curl_wall="$(python3 -c "print(f'{$(now) - $curl_start:.3f}')")"

  local sim_peak; sim_peak="$(hwm_kb "$SIM_PID")"
  kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=""
  local kubectl_wall kubectl_peak
  read -r kubectl_wall kubectl_peak _ < "$OUT/$tag.kubectl.usage"
  cat > "$OUT/$tag.json" <<JSON
{"n": $n, "manifest_bytes": $manifest_bytes, "sim_listening_s": $listening,
 "sim_loaded_rss_kb": $sim_loaded_rss, "sim_peak_rss_kb": $sim_peak,
 "gravl": $(cat "$OUT/$tag.gravl.json"), "big": $(cat "$OUT/$tag.big.json"),
 "kubectl_wall_s": $kubectl_wall, "kubectl_peak_rss_kb": $kubectl_peak,
 "curl_wall_s": $curl_wall, "curl_bytes": $curl_bytes}
JSON
  echo "N=$n done" >&2
}

# The `big` plan: gravl plus a gate reading every pod of the load namespaces.
BIG_PLAN="$OUT/big-plan.yaml"
{
  sed -n '/^  - id: load-test/q;p' "$ROOT/assets/plans/gravl.yaml"
  printf '  - id: load-pods\n    title: Every pod in the load namespaces Ready\n    group: operational\n    checks:\n'
  for i in $(seq -w 0 19); do printf '      - pods_ready: {namespace: load-%s}\n' "$i"; done
  printf '\n'
  sed -n '/^  - id: load-test/,$p' "$ROOT/assets/plans/gravl.yaml"
} > "$BIG_PLAN"

echo "bigcluster: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT" >&2
tmx new-session -d -s keep "sleep 86400"
measure 0
for n in "${NS[@]}"; do measure "$n"; done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$OUT" 0 "${NS[@]}" <<'PY'
import json, sys
out, ns = sys.argv[1], [int(n) for n in sys.argv[2:]]
rows = [json.load(open(f"{out}/n{n}.json")) for n in ns]
MB = 1024

def verdicts(n, plan):
    """Each gate's status from `golive check --format json`."""
    try:
        report = json.load(open(f"{out}/n{n}.{plan}.check.out"))
    except (OSError, ValueError):
        return {}
    return {g["id"]: g["status"] for g in report.get("gates", [])}

print(f"\n{'N':>6} {'manifest':>9} {'sim up':>7} {'sim RSS':>8} {'sim peak':>9} {'kubectl':>8} {'kctl RSS':>9} {'curl':>7} {'list':>7}")
print(f"{'':>6} {'MB':>9} {'s':>7} {'MB':>8} {'MB':>9} {'s':>8} {'MB':>9} {'s':>7} {'MB':>7}")
for r in rows:
    print(f"{r['n']:>6} {r['manifest_bytes']/2**20:>9.1f} {r['sim_listening_s']:>7.2f} {r['sim_loaded_rss_kb']/MB:>8.1f} "
          f"{r['sim_peak_rss_kb']/MB:>9.1f} {r['kubectl_wall_s']:>8.2f} {r['kubectl_peak_rss_kb']/MB:>9.1f} "
          f"{r['curl_wall_s']:>7.2f} {r['curl_bytes']/2**20:>7.1f}")
goals = []
for plan in ("gravl", "big"):
    print(f"\nplan {plan}:")
    print(f"{'N':>6} {'check':>7} {'check RSS':>10} {'frame':>7} {'run RSS':>8} {'run peak':>9} {'idle CPU':>9} {'check/curl':>11}")
    print(f"{'':>6} {'s':>7} {'MB':>10} {'s':>7} {'MB':>8} {'MB':>9} {'%':>9} {'':>11}")
    for r in rows:
        p = r[plan]
        ratio = p["check_wall_s"] / max(r["curl_wall_s"], 1e-3)
        print(f"{r['n']:>6} {p['check_wall_s']:>7.2f} {p['check_peak_rss_kb']/MB:>10.1f} {p['run_first_frame_s']:>7} "
              f"{p['run_steady_rss_kb']/MB:>8.1f} {p['run_peak_rss_kb']/MB:>9.1f} {p['run_idle_cpu_pct']:>9.2f} {ratio:>10.2f}x")
    reference = {k: v for k, v in verdicts(0, plan).items() if k != "load-pods"}
    for r in rows[1:]:
        n, p = r["n"], r[plan]
        got = verdicts(n, plan)
        same = bool(reference) and {k: v for k, v in got.items() if k != "load-pods"} == reference
        if plan == "big":
            same = same and got.get("load-pods") == "pass"
        ratio = p["check_wall_s"] / max(r["curl_wall_s"], 1e-3)
        goals.append((f"{plan} N={n}: check verdicts as expected (Gravl gates as at N=0"
                      f"{', load-pods pass' if plan == 'big' else ''})", same))
        goals.append((f"{plan} N={n}: check wall <= 2.5x raw fetch ({ratio:.2f}x)", ratio <= 2.5))
        goals.append((f"{plan} N={n}: idle CPU < 1 % ({p['run_idle_cpu_pct']:.2f} %)", p["run_idle_cpu_pct"] < 1))
        if n == 20000:
            goals.append((f"{plan} N=20000: check peak RSS <= 100 MB ({p['check_peak_rss_kb']/MB:.1f} MB)",
                          p["check_peak_rss_kb"] <= 100 * MB))
    for small, big in zip(rows, rows[1:]):
        dn = big["n"] - small["n"]
        for what in ("check_peak_rss_kb", "run_steady_rss_kb", "run_peak_rss_kb"):
            per_pod = (big[plan][what] - small[plan][what]) * 1024 / dn
            label = what.replace("_rss_kb", "").replace("_", " ")
            print(f"  {label} RSS: {per_pod:.0f} B per extra pod, N={small['n']}..{big['n']}")
            if what != "run_peak_rss_kb":
                goals.append((f"{plan}: {label} RSS <= 2 KB per extra pod, N={small['n']}..{big['n']} ({per_pod:.0f} B)",
                              per_pod <= 2048))
print()
for r in rows[1:]:
    ratio = r["sim_loaded_rss_kb"] * 1024 / max(r["manifest_bytes"], 1)
    goals.append((f"sim N={r['n']}: RSS < 1.5x manifests ({ratio:.2f}x)", ratio < 1.5))
    goals.append((f"sim N={r['n']}: listening in < 5 s ({r['sim_listening_s']:.2f} s, "
                  f"{r['manifest_bytes']/2**20:.0f} MB)", r["sim_listening_s"] < 5))
for text, met in goals:
    print(f"{'met ' if met else 'MISS'} {text}")
json.dump(rows, open(f"{out}/results.json", "w"), indent=1)
PY

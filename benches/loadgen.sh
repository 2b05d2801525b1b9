#!/usr/bin/env bash
# Load-generator benchmark: golive vs wrk vs oha against one nginx worker on 127.0.0.1.
#
#   benches/loadgen.sh [DURATION_SECONDS] [CONNECTIONS]     (defaults: 10 50)
#
# Installs what is missing (nginx-light, wrk, time from apt; oha with cargo install),
# pins nginx to CPU 0 and each load tool to CPU 1 when taskset exists, builds golive in
# release, runs the three tools for the same duration and connection count against
# http://127.0.0.1:18080/health, and prints req/s, CPU seconds per 100k requests, peak
# RSS and p50/p99 for each, then golive/wrk and golive/oha ratios.
#
# Environment: GOLIVE_BIN (a binary that accepts `load --url ...` or, for the example
# binary, the same flags without `load`), OUT (results directory), SKIP_INSTALL=1,
# LOADGEN_RSS_LONG=SECONDS (also run golive that long and compare its peak RSS with the
# DURATION run: memory must stay flat). golive's per-thread CPU is sampled from /proc
# during its runs: the share of threads other than the load workers (aggregation, live
# snapshots, start-up) is what the snapshots cost.
# Only ever sends traffic to 127.0.0.1.
set -euo pipefail

DURATION="${1:-10}"
CONNS="${2:-50}"
LONG="${LOADGEN_RSS_LONG:-}"
if [ -n "$LONG" ] && ! [ "$LONG" -gt 0 ] 2>/dev/null; then
  echo "LOADGEN_RSS_LONG must be a number of seconds, got '$LONG'" >&2
  exit 2
fi
PORT=18080
URL="http://127.0.0.1:${PORT}/health"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${OUT:-$(mktemp -d /tmp/golive-loadgen.XXXXXX)}"
mkdir -p "$OUT"

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  missing=()
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  command -v wrk >/dev/null || missing+=(wrk)
  [ -x /usr/bin/time ] || missing+=(time)
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
  command -v oha >/dev/null || cargo install oha --locked
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

PIN_SERVER=() PIN_TOOL=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER=(taskset -c 0) PIN_TOOL=(taskset -c 1)
fi

# nginx: one worker, keep-alive without a request cap, `return 200 "ok"`.
NG="$OUT/nginx"
mkdir -p "$NG"
cat > "$NG/nginx.conf" <<EOF
worker_processes 1;
daemon on;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $NG/body;
    proxy_temp_path $NG/proxy;
    fastcgi_temp_path $NG/fastcgi;
    uwsgi_temp_path $NG/uwsgi;
    scgi_temp_path $NG/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    server {
        listen 127.0.0.1:${PORT};
        location = /health { default_type text/plain; return 200 "ok"; }
    }
}
EOF
"${PIN_SERVER[@]}" "$NGINX" -c "$NG/nginx.conf" -p "$NG" -e "$NG/error.log"
trap 'kill -QUIT "$(cat "$NG/nginx.pid" 2>/dev/null)" 2>/dev/null || true' EXIT
sleep 0.5
curl -fsS "$URL" >/dev/null 2>&1 || { echo "nginx did not answer on $URL" >&2; exit 1; }

# golive: the root binary once it exposes `golive load`, else the crate's example.
# The example binary takes the flags directly, the root binary after `load`.
if [ -n "${GOLIVE_BIN:-}" ]; then
  case "$(basename "$GOLIVE_BIN")" in
    golive-load) GOLIVE=("$GOLIVE_BIN") ;;
    *) GOLIVE=("$GOLIVE_BIN" load) ;;
  esac
else
  (cd "$ROOT" && cargo build --release -q -p golive-load --example golive-load)
  GOLIVE=("${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/golive-load")
fi
WORKERS=1
[ "${#PIN_TOOL[@]}" -eq 0 ] && WORKERS="$(nproc)"

run() { # name, command...
  local name="$1"; shift
  /usr/bin/time -v -o "$OUT/$name.time" "${PIN_TOOL[@]}" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" || true
  sleep 2
}

# Per-thread CPU ticks of the process that /usr/bin/time (pid $1) runs, read from /proc
# every 200 ms until it exits; the last reading of each thread is printed as JSON.
cat > "$OUT/threads.py" <<'PY'
import json, os, sys, time
parent = sys.argv[1]

def child():
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2:].split()[1] == parent:
            return pid
    return None

pid = None
while pid is None and os.path.exists(f"/proc/{parent}"):
    pid = child()
    time.sleep(0.02)
ticks = {}
while pid and os.path.exists(f"/proc/{pid}"):
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
            ticks[tid] = (comm, int(fields[11]) + int(fields[12]))
    except (OSError, ValueError, IndexError):
        pass  # the process or a thread ended between listing and reading
    time.sleep(0.2)
by_comm = {}
for comm, t in ticks.values():
    by_comm[comm] = by_comm.get(comm, 0) + t
json.dump(by_comm, sys.stdout)
PY

run_sampled() { # name, command...: `run` plus golive's per-thread CPU in $OUT/name.threads
  local name="$1"; shift
  /usr/bin/time -v -o "$OUT/$name.time" "${PIN_TOOL[@]}" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" &
  local timed=$!
  python3 "$OUT/threads.py" "$timed" > "$OUT/$name.threads" &
  local sampler=$!
  wait "$timed" || true
  wait "$sampler" || true
  sleep 2
}

cut -d' ' -f1-3 /proc/loadavg > "$OUT/load.txt"
run_sampled golive "${GOLIVE[@]}" --url "$URL" --vus "$CONNS" --duration "${DURATION}s" --workers "$WORKERS" \
  --quiet --summary-export "$OUT/golive.json"
run wrk wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$URL"
run oha oha -z "${DURATION}s" -c "$CONNS" --worker-threads "$WORKERS" --no-tui --output-format json "$URL"
if [ -n "$LONG" ]; then
  run_sampled golive_long "${GOLIVE[@]}" --url "$URL" --vus "$CONNS" --duration "${LONG}s" --workers "$WORKERS" \
    --quiet --summary-export "$OUT/golive_long.json"
fi

echo "/ $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/load.txt"
python3 - "$OUT" "$DURATION" "$CONNS" "$LONG" <<'PY'
import json, re, sys
out, duration, conns, long_s = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]

def usage(name):
    t = open(f"{out}/{name}.time").read()
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1))
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    return user + sys_, rss

def wrk_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]

rows = {}
g = json.load(open(f"{out}/golive.json"))
d = g["metrics"]["http_req_duration"]
rows["golive"] = dict(reqs=g["metrics"]["http_reqs"]["count"], secs=g["state"]["duration_ms"] / 1000,
                      p50=d["med"], p99=d["p(99)"], errors=g["metrics"]["http_req_failed"]["passes"])
w = open(f"{out}/wrk.out").read()
rows["wrk"] = dict(reqs=int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", w).group(1)),
                   secs=duration, p50=wrk_ms(re.search(r"^\s*50%\s+(\S+)", w, re.M).group(1)),
                   p99=wrk_ms(re.search(r"^\s*99%\s+(\S+)", w, re.M).group(1)),
                   errors=sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", w)))
o = json.load(open(f"{out}/oha.out"))
lp = o["latencyPercentiles"]
rows["oha"] = dict(reqs=sum(o.get("statusCodeDistribution", {}).values()), secs=o["summary"]["total"],
                   p50=lp["p50"] * 1000, p99=lp["p99"] * 1000,
                   errors=sum(o.get("errorDistribution", {}).values()))
print(f"\n{duration:.0f}s, {conns} connections, {out}; load average before/after: {open(f'{out}/load.txt').read().strip()}")
print(f"{'tool':8} {'req/s':>10} {'requests':>10} {'CPU-s/100k':>11} {'RSS MB':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
for name, r in rows.items():
    cpu, rss = usage(name)
    r.update(rps=r["reqs"] / r["secs"], cpu100k=cpu / max(r["reqs"], 1) * 1e5, rss=rss)
    print(f"{name:8} {r['rps']:>10.0f} {r['reqs']:>10} {r['cpu100k']:>11.2f} {r['rss']:>8.1f} {r['p50']:>8.3f} {r['p99']:>8.3f} {r['errors']:>7}")
for peer in ("wrk", "oha"):
    a, b = rows["golive"], rows[peer]
    print(f"golive/{peer}: throughput {a['rps']/b['rps']:.2f}x  CPU/request {a['cpu100k']/b['cpu100k']:.2f}x  RSS {a['rss']/b['rss']:.2f}x")

def snapshot_share(name):
    """CPU share of golive's threads other than the load workers (golive-load-N)."""
    try:
        ticks = json.load(open(f"{out}/{name}.threads"))
    except (OSError, ValueError):
        return None
    total = sum(ticks.values())
    workers = sum(t for comm, t in ticks.items() if re.fullmatch(r"golive-load-\d+", comm))
    return None if total == 0 else (1 - workers / total) * 100, ticks

runs = [("golive", f"{duration:.0f} s")] + ([("golive_long", f"{long_s} s")] if long_s else [])
for name, label in runs:
    share = snapshot_share(name)
    if share is None:
        print(f"golive {label}: no per-thread CPU sample")
    else:
        print(f"golive {label}: threads other than the load workers (aggregation, snapshots, start-up) "
              f"took {share[0]:.2f}% of its CPU (goal < 2%); ticks by thread {share[1]}")
        rows[name + "_snapshot_share"] = share[0]
if long_s:
    _, short_rss = usage("golive")
    cpu, long_rss = usage("golive_long")
    g = json.load(open(f"{out}/golive_long.json"))
    reqs = g["metrics"]["http_reqs"]["count"]
    secs = g["state"]["duration_ms"] / 1000
    print(f"golive {long_s} s: {reqs / secs:.0f} req/s, {cpu / max(reqs, 1) * 1e5:.2f} CPU-s/100k")
    print(f"golive peak RSS: {duration:.0f} s {short_rss:.1f} MB, {long_s} s {long_rss:.1f} MB, "
          f"ratio {long_rss / short_rss:.3f} (goal <= 1.10)")
    rows["rss_long"] = dict(seconds=float(long_s), short_mb=short_rss, long_mb=long_rss,
                            ratio=long_rss / short_rss)
json.dump(rows, open(f"{out}/results.json", "w"), indent=1)
PY

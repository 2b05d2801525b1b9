#!/usr/bin/env bash
# The test command (README.md): installs what the tests need beyond the Rust toolchain,
# then runs the whole suite. tests/monitor_real.rs starts a real Prometheus 2.42 and
# Alertmanager 0.25 (Debian's `prometheus` and `prometheus-alertmanager`, whose
# Alertmanager binary is `prometheus-alertmanager`) and fails without them.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus >/dev/null 2>&1 || ! command -v prometheus-alertmanager >/dev/null 2>&1; then
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then as_root="sudo"; fi
  echo "installing prometheus and prometheus-alertmanager (Debian packages) for the monitoring tests" >&2
  $as_root apt-get update
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    prometheus prometheus-alertmanager
fi

cargo test --workspace "$@"

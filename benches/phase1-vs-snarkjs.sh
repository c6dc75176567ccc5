#!/usr/bin/env bash
# Phase 1 beside snarkjs's, in one run on the same files: for each power, a snarkjs file with one
# snarkjs contribution, then one more contribution by each tool on it (`dossier ceremony phase1
# contribute` against `snarkjs powersoftau contribute`), then a full verification of dossier's
# result by each (`dossier ceremony phase1 verify` against `snarkjs powersoftau verify`, which
# must accept it). Whole processes, wall-clock seconds. Results go into BENCHMARKS.md by hand.
#
#   cargo build -p dossier-cli && (cd fixtures/snarkjs && npm ci) && benches/phase1-vs-snarkjs.sh [POWER...]
set -euo pipefail
cd "$(dirname "$0")/.."
dossier=${DOSSIER:-target/debug/dossier}
snarkjs=(node fixtures/snarkjs/node_modules/snarkjs/build/cli.cjs)
powers=("$@")
[ ${#powers[@]} -gt 0 ] || powers=(12 14 16)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

seconds() { # runs "$@" quietly, prints its wall-clock seconds
  local start end
  start=$(date +%s.%N)
  "$@" >"$tmp/out.log" 2>&1 || { cat "$tmp/out.log" >&2; exit 1; }
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.2f}')"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
echo "snarkjs $(node -p 'require("./fixtures/snarkjs/node_modules/snarkjs/package.json").version'), node $(node --version)"
printf '%-6s %12s %12s %12s %12s\n' power "dossier c" "snarkjs c" "dossier v" "snarkjs v"
for p in "${powers[@]}"; do
  "${snarkjs[@]}" powersoftau new bn128 "$p" "$tmp/p0.ptau" >/dev/null
  "${snarkjs[@]}" powersoftau contribute "$tmp/p0.ptau" "$tmp/p1.ptau" --name=one -e=entropy >/dev/null
  dc=$(seconds "$dossier" --home "$tmp/home" ceremony phase1 contribute --in "$tmp/p1.ptau" --out "$tmp/d.ptau" --name "tax bureau")
  sc=$(seconds "${snarkjs[@]}" powersoftau contribute "$tmp/p1.ptau" "$tmp/s.ptau" --name=commission -e=entropy)
  dv=$(seconds "$dossier" --home "$tmp/home" ceremony phase1 verify "$tmp/d.ptau")
  sv=$(seconds "${snarkjs[@]}" powersoftau verify "$tmp/d.ptau")
  grep -q "Powers of Tau Ok" "$tmp/out.log" || { echo "snarkjs did not accept 2^$p" >&2; exit 1; }
  printf '%-6s %12s %12s %12s %12s\n' "$p" "$dc" "$sc" "$dv" "$sv"
  rm -f "$tmp"/*.ptau
done

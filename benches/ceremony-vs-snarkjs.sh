#!/usr/bin/env bash
# The ceremony's phase 2 beside snarkjs's, in one run on the same files: for each shape, one
# department's contribution (`dossier ceremony contribute` against `snarkjs zkey contribute`)
# and a full verification of the transcript (`dossier ceremony verify` against `snarkjs zkey
# verify`, which recomputes the initial key from the circuit and phase 1). Whole processes,
# wall-clock seconds, A then B per shape. Results go into BENCHMARKS.md by hand.
#
#   cargo build -p dossier-cli && (cd fixtures/snarkjs && npm ci) && benches/ceremony-vs-snarkjs.sh [SHAPE...]
set -euo pipefail
cd "$(dirname "$0")/.."
dossier=${DOSSIER:-target/debug/dossier}
snarkjs=(node fixtures/snarkjs/node_modules/snarkjs/build/cli.cjs)
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(m1p4k4r2 m3p2k4r1 m4p2k4r1)
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
printf '%-10s %12s %12s %12s %12s\n' shape "dossier c" "snarkjs c" "dossier v" "snarkjs v"
for s in "${shapes[@]}"; do
  dir="$tmp/$s"
  "$dossier" --home "$tmp/home" ceremony init --dir "$dir" --single-party-phase1 bench --shape "$s" >/dev/null 2>&1
  "$dossier" --home "$tmp/home" ceremony r1cs --shape "$s" --out "$tmp/$s.r1cs" >/dev/null
  dc=$(seconds "$dossier" --home "$tmp/home" ceremony contribute --dir "$dir" --name "tax bureau")
  sc=$(seconds "${snarkjs[@]}" zkey contribute "$dir/$s.zkey" "$tmp/$s.next.zkey" --name=commission -e=entropy)
  mv "$tmp/$s.next.zkey" "$dir/$s.zkey"
  dv=$(seconds "$dossier" --home "$tmp/home" ceremony verify --dir "$dir")
  sv=$(seconds "${snarkjs[@]}" zkey verify "$tmp/$s.r1cs" "$dir/phase1.ptau" "$dir/$s.zkey")
  grep -q "ZKey Ok" "$tmp/out.log" || { echo "snarkjs did not accept $s" >&2; exit 1; }
  printf '%-10s %12s %12s %12s %12s\n' "$s" "$dc" "$sc" "$dv" "$sv"
done

#!/usr/bin/env bash
# Whole-process proving beside snarkjs's, paired, on the same statements (issue #18).
#
# Both tools prove the very same constraint system with the very same key: a ceremony (one
# party's phase 1, one contribution, a beacon) is finalised into a params folder, whose `.zkey`
# transcripts snarkjs reads as they are; a holder gets a qualification, three appraisals and an
# employment record; the recruitment (1 credential), appraisals (3) and promotion (4) requests
# are answered by `dossier prove`, which also writes its witness in circom's `.wtns`
# (`--witness-out`). Before anything is timed, snarkjs checks that witness against the `.r1cs`
# dossier exports (`wtns check`), proves from it and verifies its proof with the key it exports
# from the `.zkey`. Then, per statement, PAIRS pairs of whole processes in turn (dossier first,
# then snarkjs; wall-clock): `dossier prove` (start, wallet, store, pinned keys, selection,
# witness, proof, writing the presentation), the same with arkworks' G1 MSMs (`DOSSIER_MSM=arkworks`,
# the prover before issue #18), and `snarkjs groth16 prove` from the ready witness. snarkjs is given its witness for free (circom's witness calculator is not run), so
# the ratio understates dossier's lead.
#
#   cargo build --release -p dossier-cli && (cd fixtures/snarkjs && npm ci) && benches/prove-vs-snarkjs.sh [PAIRS]
#
# Prints one line per statement: medians, ranges and the ratio; results go into BENCHMARKS.md by
# hand.
set -euo pipefail
cd "$(dirname "$0")/.."
dossier=${DOSSIER:-target/release/dossier}
snarkjs=(node fixtures/snarkjs/node_modules/snarkjs/build/cli.cjs)
pairs=${1:-9}
export DOSSIER_MSM=best
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
home=$tmp/home
params=$tmp/params
d() { "$dossier" --home "$home" --params "$params" "$@"; }

seconds() { # runs "$@" quietly, prints its wall-clock seconds
  local start end
  start=$(date +%s.%N)
  "$@" >"$tmp/out.log" 2>&1 || { cat "$tmp/out.log" >&2; exit 1; }
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.3f}')"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
echo "dossier: $dossier; snarkjs $(node -p 'require("./fixtures/snarkjs/node_modules/snarkjs/package.json").version'), node $(node --version)"

echo "== keys: a ceremony for the three shapes, finalised into the params folder"
shapes=(m1p4k4r2 m3p2k4r1 m4p2k4r1)
cer=$tmp/ceremony
d ceremony init --dir "$cer" --single-party-phase1 bench "${shapes[@]/#/--shape=}" >/dev/null
d ceremony contribute --dir "$cer" --name "tax bureau" >/dev/null
d ceremony beacon --dir "$cer" --value 00aa11bb --iterations-log 4 >/dev/null
d ceremony finalize --dir "$cer" >/dev/null

echo "== the holder's credentials, anchored"
d ledger init --origin bench.example/ledger >/dev/null
d issuer init hr.example >/dev/null
holder=$(d --json holder init --wallet "$tmp/w.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["holder"])')
claims=$tmp/claims.jsonl
{
  echo "{\"schema\": \"qualification\", \"holder\": \"$holder\", \"expires_at\": \"2040-01-01\", \"fields\": {\"degree_level\": \"master\", \"field\": \"law\", \"institution\": \"UL-001\", \"award_year\": 2015}}"
  for y in 2023 2024 2025; do
    echo "{\"schema\": \"appraisal\", \"holder\": \"$holder\", \"fields\": {\"year\": $y, \"grade\": \"competent\", \"score\": 85, \"unit\": \"tax-audit\", \"training_hours\": 96}}"
  done
  echo "{\"schema\": \"employment\", \"holder\": \"$holder\", \"fields\": {\"department\": \"tax\", \"position\": \"officer\", \"rank_level\": \"section_member_1\", \"rank_since\": \"2022-07-01\", \"hire_date\": \"1996-09-01\", \"status\": \"active\", \"sanction_until\": \"2021-01-01\"}}"
} >"$claims"
d issue --issuer hr.example --batch "$claims" --out "$tmp/openings.jsonl" >/dev/null 2>&1
d holder import "$tmp/openings.jsonl" --wallet "$tmp/w.json" >/dev/null
d checkpoint >/dev/null

appraisal() { echo "{\"schema\": \"appraisal\", \"issuers\": [\"hr.example\"], \"where\": {\"year\": {\"\$eq\": $1}, \"grade\": {\"\$gte\": \"competent\"}}}"; }
declare -A queries=(
  [recruitment]='{"credentials": [{"schema": "qualification", "issuers": ["hr.example"], "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}, "award_year": {"$lte": 2020}, "institution": {"$ne": "X"}}, "reveal": ["award_year"]}]}'
  [appraisals]="{\"credentials\": [$(appraisal 2023), $(appraisal 2024), $(appraisal 2025)]}"
  [promotion]="{\"credentials\": [$(appraisal 2023), $(appraisal 2024), $(appraisal 2025), {\"schema\": \"employment\", \"issuers\": [\"hr.example\"], \"where\": {\"rank_since\": {\"\$lte\": \"2024-06-30\"}, \"sanction_until\": {\"\$lt\": \"2026-06-30\"}}}]}"
)

median() { python3 -c "import statistics,sys; xs=[float(x) for x in sys.argv[1:]]; print(f'{statistics.median(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})')" "$@"; }

printf '%-12s %-9s %-24s %-24s %-24s %s\n' statement shape "dossier prove (s)" "same, arkworks G1 (s)" "snarkjs prove (s)" "snarkjs/dossier"
for name in recruitment appraisals promotion; do
  echo "${queries[$name]}" >"$tmp/$name.query.json"
  d request --query "$tmp/$name.query.json" --scope "bench:2026" --out "$tmp/$name.request.json" >/dev/null
  prove=(d prove --request "$tmp/$name.request.json" --wallet "$tmp/w.json" --out "$tmp/$name.presentation.json")
  shape=$("${prove[@]}" --json --witness-out "$tmp/$name.wtns" | python3 -c 'import json,sys; print(json.load(sys.stdin)["shape"])')
  d verify --request "$tmp/$name.request.json" "$tmp/$name.presentation.json" >/dev/null
  # snarkjs accepts the statement before it is timed: witness, proof and verification.
  d ceremony r1cs --shape "$shape" --out "$tmp/$shape.r1cs" >/dev/null
  "${snarkjs[@]}" wtns check "$tmp/$shape.r1cs" "$tmp/$name.wtns" 2>&1 | grep -q "WITNESS IS CORRECT" \
    || { echo "snarkjs refused the $name witness" >&2; exit 1; }
  sj=("${snarkjs[@]}" groth16 prove "$params/$shape.zkey" "$tmp/$name.wtns" "$tmp/$name.proof.json" "$tmp/$name.public.json")
  "${sj[@]}" >/dev/null
  "${snarkjs[@]}" zkey export verificationkey "$params/$shape.zkey" "$tmp/$shape.vk.json" >/dev/null
  "${snarkjs[@]}" groth16 verify "$tmp/$shape.vk.json" "$tmp/$name.public.json" "$tmp/$name.proof.json" | grep -q "OK!" \
    || { echo "snarkjs's own proof of $name did not verify" >&2; exit 1; }
  ours=() ark=() theirs=()
  for _ in $(seq "$pairs"); do
    ours+=("$(seconds "${prove[@]}")")
    ark+=("$(DOSSIER_MSM=arkworks seconds "${prove[@]}")")
    theirs+=("$(seconds "${sj[@]}")")
  done
  ratio=$(python3 -c "import statistics,sys; a=[float(x) for x in sys.argv[1].split()]; b=[float(x) for x in sys.argv[2].split()]; print(f'{statistics.median(b)/statistics.median(a):.1f}x')" "${ours[*]}" "${theirs[*]}")
  printf '%-12s %-9s %-24s %-24s %-24s %s\n' "$name" "$shape" "$(median "${ours[@]}")" "$(median "${ark[@]}")" "$(median "${theirs[@]}")" "$ratio"
done

#!/usr/bin/env bash
# Schemathesis against the service's own OpenAPI document: a real `dossier serve` on a loopback
# port, a store holding issuers, a credential and a checkpoint, and one run per role (public,
# issuer, holder, verifier, regulator, committee member) so that every operation is reached with a token that may
# use it and with ones that may not. Passes when no response is a 5xx and every response matches
# the document (status code, content type, body schema).
#
#   tests/schemathesis/run.sh [path/to/dossier]     (default: target/debug/dossier, built first)
#
# Needs schemathesis (PyPI, pinned in requirements.txt beside this file); .ci/run installs it into
# a virtualenv and passes SCHEMATHESIS=<venv>/bin/schemathesis. Bounded: a fixed number of
# examples per operation and a time budget per role; the server is stopped on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
st="${SCHEMATHESIS:-schemathesis}"
examples="${SCHEMATHESIS_EXAMPLES:-40}"
budget="${SCHEMATHESIS_MAX_TIME:-60}"

if [ $# -ge 1 ]; then
  dossier="$1"
else
  (cd "$root" && cargo build -q -p dossier-cli)
  dossier="$root/target/debug/dossier"
fi

work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export DOSSIER_HOME="$work/home" DOSSIER_PARAMS="$work/params" DOSSIER_TOKENS="$work/tokens.json"
"$dossier" setup --insecure-dev-setup >>"$work/setup.log"
token() { "$dossier" --json token add "$@" | jq -r .token; }
issuer_tok="$(token --name st-issuer --role issuer --issuer st.university)"
verifier_tok="$(token --name st-verifier --role verifier)"
regulator_tok="$(token --name st-regulator --role regulator)"
"$dossier" committee member st-member >>"$work/setup.log"
member_tok="$(token --name st-member --role member --member st-member)"
"$dossier" holder init --wallet "$work/wallet.json" >>"$work/setup.log"
holder_tok="$(token --name st-holder --role holder --wallet "$work/wallet.json")"
holder="$("$dossier" --json holder show --wallet "$work/wallet.json" | jq -r .holder)"

# A generous rate: schemathesis is one trusted client here, and 429s are tested elsewhere.
DOSSIER_LOG=warn "$dossier" serve --listen 127.0.0.1:0 --addr-file "$work/addr" \
  --rate 100000 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 200); do [ -s "$work/addr" ] && break; sleep 0.05; done
base="http://$(cat "$work/addr")"
curl -fsS "$base/readyz" >>"$work/setup.log"

call() {
  if ! curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
      ${4:+--data "$4"} "$base$3" >"$work/call.out"; then
    echo "setup call $1 $3 failed: $(cat "$work/call.out")" >&2
    return 1
  fi
}
call POST "$issuer_tok" /v1/issuers '{"name":"st.university"}'
call POST "$issuer_tok" /v1/issuers/st.university/credentials "{\"claims\":[{\"schema\":\"qualification\",\"holder\":\"$holder\",\"fields\":{\"degree_level\":\"master\",\"field\":\"law\",\"institution\":\"Schemathesis University\",\"award_year\":2015}}]}"
call POST "$issuer_tok" /v1/issuers/st.university/credentials "{\"claims\":[{\"schema\":\"appraisal\",\"holder\":\"$holder\",\"fields\":{\"year\":2025,\"grade\":\"competent\",\"score\":80,\"unit\":\"st-unit\",\"training_hours\":90}}]}"
call POST "$issuer_tok" /v1/issuers/st.university/rounds '{"unit":"st-unit","year":2025,"first":1,"count":1}'
call POST "$issuer_tok" /v1/checkpoints
call POST "$verifier_tok" /v1/requests '{"query":{"credentials":[{"schema":"qualification","issuers":["st.university"],"where":{"degree_level":{"$gte":"master"}}}]},"scope":"st"}'

status=0
for role in public issuer holder verifier regulator member; do
  case "$role" in
    public) auth=() ;;
    issuer) auth=(-H "Authorization: Bearer $issuer_tok") ;;
    holder) auth=(-H "Authorization: Bearer $holder_tok") ;;
    verifier) auth=(-H "Authorization: Bearer $verifier_tok") ;;
    regulator) auth=(-H "Authorization: Bearer $regulator_tok") ;;
    member) auth=(-H "Authorization: Bearer $member_tok") ;;
  esac
  echo "== schemathesis as $role"
  if ! "$st" run "$base/openapi.json" "${auth[@]}" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
      --phases examples,coverage,fuzzing --max-examples "$examples" --max-time "$budget" \
      --seed 20261124 --workers 1 --request-timeout 30 --no-color \
      --report junit --report-dir "$work/report-$role"; then
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures; the service's log:"
  tail -n 50 "$work/serve.log"
fi
exit "$status"

#!/usr/bin/env bash
# Starts a fresh scimd and runs the scim2-tester check set against it; fails if fewer checks
# pass than conformance/expected.txt records.
#
# SCIMD_CONFORMANCE_DATABASE=postgres://… runs it on PostgreSQL, in a schema of its own.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

cargo build --release --quiet
bin="$root/target/release/scimd"

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="conformance-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
database="${SCIMD_CONFORMANCE_DATABASE:-sqlite://$work/scimd.db}"
schema=""
if [[ "$database" == postgres* ]]; then
  schema="conformance_$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
  psql "$database" -qc "CREATE SCHEMA $schema"
  sep='?'; [[ "$database" == *\?* ]] && sep='&'
  server_database="${database}${sep}options=-c%20search_path%3D${schema}"
else
  server_database="$database"
fi

pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$schema" ]; then PGOPTIONS="-c client_min_messages=warning" psql "$database" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --listen "127.0.0.1:$port" --database "$server_database" --bootstrap-token "$token" \
  >"$work/scimd.log" 2>&1 &
pid=$!

for _ in $(seq 1 60); do
  if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
if ! curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
  echo "scimd did not become healthy; its log:" >&2
  cat "$work/scimd.log" >&2
  exit 1
fi

timeout 600 "$venv/bin/python" "$here/check.py" "http://127.0.0.1:$port/scim/v2" "$token" "$work/passed"

passed="$(cat "$work/passed")"
expected="$(tr -d '[:space:]' < "$here/expected.txt")"
echo "conformance on ${database%%:*}: $passed checks passed; expected at least $expected"
if [ "$passed" -lt "$expected" ]; then
  echo "conformance regressed: $passed < $expected" >&2
  exit 1
fi
if [ "$passed" -gt "$expected" ]; then
  echo "more checks pass than recorded: raise conformance/expected.txt to $passed"
fi

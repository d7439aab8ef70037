#!/usr/bin/env bash
# Starts a fresh scimd and runs the scim2-tester check set against it; fails if fewer checks
# pass than conformance/expected.txt records.
#
#   bash conformance/run.sh
#
# SCIMD_CONFORMANCE_DATABASE=postgres://… runs it on PostgreSQL, in a schema of its own that
# is created for the run and dropped after it (needs psql). SCIMD_CONFORMANCE_SEED picks the
# random draw scim2-tester fills resources with (0 by default, so runs are repeatable).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"

check_timeout=600   # seconds check.py may take
health_timeout=30   # seconds scimd may take to answer /healthz

# The pinned checker, in a venv of its own, reused while requirements.txt is unchanged.
venv="$here/.venv"
stamp="$venv/.installed-requirements.txt"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! cmp -s "$here/requirements.txt" "$stamp" \
  || ! "$venv/bin/python" -c 'import scim2_tester, scim2_client.engines.httpx2' >/dev/null 2>&1; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$stamp"
fi
echo "checker: $("$venv/bin/python" -c 'from importlib.metadata import version; print("scim2-tester", version("scim2-tester"))')"

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$root/target}/release/scimd"

work="$(mktemp -d "${TMPDIR:-/tmp}/scimd-conformance.XXXXXX")"
pid=""
checker=""
schema=""
database=""
cleanup() {
  trap '' INT TERM
  if [ -n "$checker" ]; then kill "$checker" 2>/dev/null || true; wait "$checker" 2>/dev/null || true; fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ -n "$schema" ]; then
    PGOPTIONS="-c client_min_messages=warning" psql "$database" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="conformance-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
database="${SCIMD_CONFORMANCE_DATABASE:-sqlite://$work/scimd.db}"
if [[ "$database" == postgres* ]]; then
  schema="conformance_$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
  psql "$database" -qc "CREATE SCHEMA $schema"
  sep='?'; [[ "$database" == *\?* ]] && sep='&'
  server_database="${database}${sep}options=-c%20search_path%3D${schema}"
else
  server_database="$database"
fi
store="${database%%:*}"

log="$work/scimd.log"
show_log() {
  echo "--- last lines of the scimd log" >&2
  tail -n 40 "$log" >&2 || true
  echo "---" >&2
}

# A license with seats to spare: the schema lists its id as the one valid value of
# licenses.value, so the checker's generated users can hold it.
"$bin" license add CONFORMANCEPACK --seats 1000000 --name "Conformance" --database "$server_database" >/dev/null

NO_COLOR=1 "$bin" serve --listen "127.0.0.1:$port" --database "$server_database" --bootstrap-token "$token" \
  >"$log" 2>&1 &
pid=$!

deadline=$((SECONDS + health_timeout))
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/healthz" || true)" = 200 ]; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "scimd exited before /healthz answered 200" >&2
    show_log
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "scimd's /healthz did not answer 200 within ${health_timeout} s" >&2
    show_log
    exit 1
  fi
  sleep 0.5
done
echo "scimd is up on 127.0.0.1:$port ($store)"

# In the background and waited for, so that an interrupt stops the run at once.
PYTHONHASHSEED=0 timeout --kill-after=10 "$check_timeout" \
  "$venv/bin/python" "$here/check.py" "http://127.0.0.1:$port/scim/v2" "$token" "$work/passed" &
checker=$!
rc=0
wait "$checker" || rc=$?
checker=""
if [ "$rc" -ne 0 ]; then
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "check.py did not finish within ${check_timeout} s" >&2
  else
    echo "check.py failed (exit status $rc)" >&2
  fi
  show_log
  exit 1
fi

passed="$(tr -d '[:space:]' < "$work/passed")"
expected="$(tr -d '[:space:]' < "$here/expected.txt")"
if ! [[ "$expected" =~ ^[0-9]+$ ]]; then
  echo "conformance/expected.txt must hold one integer, not '$expected'" >&2
  exit 1
fi
echo "conformance on $store: $passed checks passed, expected at least $expected (conformance/expected.txt)"
if [ "$passed" -lt "$expected" ]; then
  echo "conformance regressed: $passed passed < $expected expected" >&2
  show_log
  exit 1
fi
if [ "$passed" -gt "$expected" ]; then
  echo "more checks pass than recorded: raise conformance/expected.txt to $passed"
fi

#!/usr/bin/env bash
# The admin center in a real browser: starts the scimd binary on 127.0.0.1 with a fresh SQLite
# file, makes its tokens, license and domains with the scimd command line, and drives Debian's
# chromium through Playwright (console-tests/test_console.py). Screenshots land in
# console-tests/screenshots/.
#
#   bash console-tests/run.sh
#
# Needs /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it) and python3.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cd "$root"

health_timeout=30   # seconds scimd may take to answer /healthz
test_timeout=300    # seconds the browser test may take

chromium="${SCIMD_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "no browser at $chromium: install Debian's chromium (apt-get install chromium)" >&2
  exit 1
fi

# Playwright in a venv of its own, reused while requirements.txt is unchanged. No browser is
# downloaded: the test launches the system chromium.
venv="$here/.venv"
stamp="$venv/.installed-requirements.txt"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! cmp -s "$here/requirements.txt" "$stamp" || ! "$venv/bin/python" -c 'import playwright' >/dev/null 2>&1; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$stamp"
fi

cargo build --quiet --bin scimd
bin="${CARGO_TARGET_DIR:-$root/target}/debug/scimd"

work="$(mktemp -d "${TMPDIR:-/tmp}/scimd-console.XXXXXX")"
pid=""
cleanup() {
  trap '' INT TERM
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export SCIMD_DATABASE_URL="sqlite://$work/scimd.db"
admin_token="$("$bin" token create --scope admin --name console-test)"
sync_token="$("$bin" token create --scope sync --name ad-connector)"
"$bin" license add ENTERPRISEPACK --seats 2 --name "Office 365 E3" >/dev/null
"$bin" license add STANDARDPACK --seats 5 --name "Office 365 E1" >/dev/null
"$bin" domain add contoso.onmicrosoft.com --initial >/dev/null
"$bin" domain add contoso.com >/dev/null

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$bin" serve --listen "127.0.0.1:$port" >"$work/scimd.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
ready=""
for _ in $(seq 1 $((health_timeout * 4))); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.25
done
if [ -z "$ready" ]; then
  echo "scimd did not answer /healthz within ${health_timeout}s:" >&2
  cat "$work/scimd.log" >&2
  exit 1
fi

mkdir -p "$here/screenshots"
status=0
SCIMD_URL="$base" SCIMD_ADMIN_TOKEN="$admin_token" SCIMD_SYNC_TOKEN="$sync_token" SCIMD_CHROMIUM="$chromium" \
  SCIMD_SCREENSHOTS="$here/screenshots" \
  timeout "$test_timeout" "$venv/bin/python" "$here/test_console.py" || status=$?
if [ "$status" -ne 0 ]; then
  echo "the browser test failed ($status); scimd's log:" >&2
  tail -n 50 "$work/scimd.log" >&2
fi
exit "$status"

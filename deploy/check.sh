#!/usr/bin/env bash
# Checks the deployment examples: the systemd unit is valid and hardened (systemd-analyze), and
# nginx accepts the reverse-proxy configuration. Usage: deploy/check.sh PATH_TO_SCIMD_BINARY
set -euo pipefail
bin="$(realpath "$1")"
cd "$(dirname "$0")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for tool in systemd-analyze:systemd nginx:nginx-light openssl:openssl; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tool#*:}" >/dev/null
  }
done

# The unit as installed, but running the binary just built.
sed "s#/usr/local/bin/scimd#$bin#" scimd.service > "$work/scimd.service"
systemd-analyze verify "$work/scimd.service"
# Exposure 0 (locked down) to 10 (nothing restricted); the threshold counts tenths: fails above 2.0.
systemd-analyze security --offline=true --threshold=20 "$work/scimd.service" | tail -1

# The proxy configuration inside a minimal nginx.conf, with a certificate made for the check.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=scim.example.com" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
sed -e "s#/etc/letsencrypt/live/scim.example.com/fullchain.pem#$work/cert.pem#" \
    -e "s#/etc/letsencrypt/live/scim.example.com/privkey.pem#$work/key.pem#" nginx.conf > "$work/scimd.conf"
cat > "$work/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log $work/error.log;
events {}
http {
    access_log off;
    include $work/scimd.conf;
}
CONF
nginx -t -c "$work/nginx.conf" -g "daemon off;" 2>&1 | tail -2

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Install the Debian packages a target needs, only those missing.
# Usage: scripts/deps.sh build|test|bench|fuzz
set -eu
build="gcc make pkg-config libknot-dev liburcu-dev libyaml-dev libuv1-dev libmaxminddb-dev libssl-dev liblmdb-dev libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libfstrm-dev"
test="$build dnsperf libcmocka-dev python3-pytest python3-dnspython knot clang libclang-rt-14-dev libmaxmind-db-writer-perl openssl chromium dnstap-ldns fstrm-bin bind9-dnsutils knot-dnsutils nsd bind9 bind9-utils"
fuzz="$build clang libclang-rt-14-dev"
bench="$build dnsperf knot nsd gdnsd bind9 procps"
case "${1:-build}" in
  build) want=$build ;; test) want=$test ;; fuzz) want=$fuzz ;; bench) want=$bench ;;
  *) echo "deps.sh: unknown set '$1'" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Debian's knot, nsd, gdnsd and bind9 packages try to start their daemons: keep them off.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d; trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

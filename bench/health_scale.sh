#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Scale benchmark of the health service: builds bench/health_scale.c with the
# health sources and runs it (loopback only). Extra arguments go to the
# program; without any, two runs: 2000 TCP/HTTP/DNS targets, then 2000 with
# 200 of them HTTPS. See the comment at the top of bench/health_scale.c.
set -eu
cd "$(dirname "$0")/.."
OUT=${BUILD:-build}/bench
mkdir -p "$OUT"
PKGS="libknot libzscanner liburcu-qsbr libuv openssl"
cc -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -Isrc \
   $(pkg-config --cflags $PKGS) -o "$OUT/health_scale" bench/health_scale.c \
   src/server/health/*.c src/server/common/log.c src/lib/pkt.c src/lib/dname.c src/lib/error.c \
   $(pkg-config --libs $PKGS) -lpthread -lm
if [ $# -gt 0 ]; then
	exec "$OUT/health_scale" "$@"
fi
"$OUT/health_scale" -t 700 -H 700 -d 600 -s 10
echo
"$OUT/health_scale" -t 600 -H 600 -d 600 -S 200 -s 10

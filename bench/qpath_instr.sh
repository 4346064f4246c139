#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Instructions per query on the UDP query path (bench/qpath_instr.c), counted
# by callgrind over rwd_query_process only: deterministic, so it can be
# measured on a busy machine. Builds the libraries in $BUILD (default
# build-qpath, the default optimisation and hardening) and the driver there.
#   bench/qpath_instr.sh [queries]          (default 100000)
#   BUILD=build-x bench/qpath_instr.sh      another build folder
#   ANNOTATE=1 bench/qpath_instr.sh         and the split by function
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-qpath}
N=${1:-100000}
make -s -j2 BUILD="$BUILD" "$BUILD/librunwayd.a" "$BUILD/librunway.a"
# The compile line make uses for the server's objects (tracked in $BUILD/flags).
CC_LINE=$(sed 's/ | .*//' "$BUILD/flags")
LIBS=$(sed 's/^[^|]*|[^|]*| //' "$BUILD/flags")
$CC_LINE -o "$BUILD/qpath_instr" bench/qpath_instr.c "$BUILD/librunwayd.a" "$BUILD/librunway.a" $LIBS
out="$BUILD/callgrind.qpath"
valgrind -q --tool=callgrind --callgrind-out-file="$out" \
  --toggle-collect=rwd_query_process "$BUILD/qpath_instr" "$N"
ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' "$out" | head -1)
echo "instructions per query (rwd_query_process): $(awk -v i="$ir" -v n="$N" 'BEGIN { printf "%.1f", i / n }') ($ir / $N)"
if [ "${ANNOTATE:-0}" = 1 ]; then
  callgrind_annotate --inclusive=no "$out" 2>/dev/null | sed -n '1,40p'
fi

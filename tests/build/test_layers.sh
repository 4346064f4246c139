#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Self-test of scripts/check-layers.py: fake trees with an upward include, a
# cycle, a module of no declared layer, an include that does not resolve and
# a call hidden from the includes (nm) must fail, each named; a clean tree
# passes. Run by `make layers`.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
check="$here/scripts/check-layers.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "test_layers: FAIL: $*" >&2; exit 1; }

# put FILE LINE...: a file of the fake tree with these lines
put() { f=$1; shift; mkdir -p "$(dirname "$f")"; printf '%s\n' "$@" > "$f"; }

# expect_fail DIR PATTERN...: the check fails on DIR and says each PATTERN
expect_fail() {
	d=$1; shift
	if /usr/bin/python3 "$check" --strict --root "$d" $extra > "$tmp/out" 2>&1; then
		cat "$tmp/out" >&2; fail "$d: passed"
	fi
	for p in "$@"; do
		grep -qE -- "$p" "$tmp/out" || { cat "$tmp/out" >&2; fail "$d: no line matching '$p'"; }
	done
}
extra=""

# A clean tree passes: downward includes only, beside the file and under src/.
ok=$tmp/ok
put $ok/src/lib/wire.h '#pragma once'
put $ok/src/server/common/log.h '#include "lib/wire.h"'
put $ok/src/server/zone/zone.h '#include "server/common/log.h"' '#include <stdio.h>'
put $ok/src/server/zone/zone.c '#include "zone.h"'
put $ok/src/server/daemon/server.h '#include "server/zone/zone.h"'
put $ok/src/server/control/control.c '#include "server/daemon/server.h"'
put $ok/src/server/daemon/main.c '#include "server/control/control.h"'
put $ok/src/server/control/control.h '#include "server/common/log.h"'
put $ok/src/tools/runway/main.c '#include "server/zone/zone.h"'
/usr/bin/python3 "$check" --strict --root $ok > "$tmp/out" 2>&1 || { cat "$tmp/out" >&2; fail "clean tree failed"; }

# The library includes a server header: upward.
up=$tmp/up; cp -r $ok $up
put $up/src/lib/wire.h '#pragma once' '#include "server/common/log.h"'
expect_fail $up 'src/lib/wire.h:2: lib -> common: upward' 'cycle: common -> lib -> common'

# Two modules of one layer include each other: sideways, and a cycle.
cyc=$tmp/cyc; cp -r $ok $cyc
put $cyc/src/server/steer/model.h '#include "server/zone/zone.h"'
put $cyc/src/server/zone/zone.c '#include "zone.h"' '#include "../steer/model.h"'
expect_fail $cyc 'src/server/zone/zone.c:2: zone -> steer: sideways' \
	'src/server/steer/model.h:1: steer -> zone: sideways' 'cycle: steer -> zone -> steer'

# daemon/server is a layer of its own: below control, which main.c is above.
dn=$tmp/dn; cp -r $ok $dn
put $dn/src/server/daemon/server.h '#include "server/control/control.h"'
expect_fail $dn 'src/server/daemon/server.h:1: daemon/server -> control: upward'

# A module of no declared layer, and an include that resolves nowhere.
new=$tmp/new; cp -r $ok $new
put $new/src/server/doq/doq.c '#include "server/zone/zone.h"' '#include "missing.h"'
expect_fail $new 'src/server/doq/: module not in LAYERS' 'src/server/doq/doq.c:2: #include "missing.h" not found'

# nm: the library calls the log without including it (a link edge); an
# object whose source is gone (an old build folder) is left out.
cc=${CC:-cc}
if command -v nm > /dev/null && command -v "$cc" > /dev/null; then
	lk=$tmp/lk; cp -r $ok $lk
	put $lk/src/server/common/log.c 'void rwd_log_x(void) {}'
	put $lk/src/lib/wire.c 'int rw_wire_x(void) { return 0; }'
	put $tmp/gone.c 'void rwd_log_x(void); void rw_gone_x(void) { rwd_log_x(); }'
	mkdir -p $lk/obj/lib $lk/obj/server/common
	$cc -c $lk/src/server/common/log.c -o $lk/obj/server/common/log.o
	$cc -c $lk/src/lib/wire.c -o $lk/obj/lib/wire.o
	$cc -c $tmp/gone.c -o $lk/obj/lib/gone.o
	/usr/bin/python3 "$check" --strict --root $lk --objects $lk/obj > "$tmp/out" 2>&1 ||
		{ cat "$tmp/out" >&2; fail "link: a clean tree with an old object failed"; }
	put $lk/src/lib/wire.c 'void rwd_log_x(void); void rw_wire_x(void) { rwd_log_x(); }'
	$cc -c $lk/src/lib/wire.c -o $lk/obj/lib/wire.o
	extra="--objects $lk/obj"
	expect_fail $lk 'lib/wire.o: rwd_log_x: lib -> common: upward'
	# The library keeps no state and does no I/O.
	extra=""
	put $lk/src/lib/wire.c '#include <stdio.h>' 'int rw_wire_n;' 'void rw_wire_x(void) { printf("%d", rw_wire_n); }'
	$cc -c $lk/src/lib/wire.c -o $lk/obj/lib/wire.o
	extra="--objects $lk/obj"
	expect_fail $lk 'lib/wire.o: rw_wire_n: lib holds state' 'lib/wire.o: printf: lib does I/O'
fi
echo "test_layers: ok"

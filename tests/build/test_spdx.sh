#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Self-test of scripts/spdx-check.sh on a fake tree: it lists exactly the
# sources without an SPDX line (not data, not files outside src/ tests/
# bench/ scripts/), and --add gives each one in a form its type still reads:
# C compiles, Python and shell run, the #! line and <!doctype> stay first, the
# mode is kept. Run by `make spdx`.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
check="$here/scripts/spdx-check.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "test_spdx: FAIL: $*" >&2; exit 1; }
put() { f=$tmp/t/$1; shift; mkdir -p "$(dirname "$f")"; printf '%s\n' "$@" > "$f"; }

put src/lib/a.c '#include "a.h"' 'int a(void) { return A; }'
put src/lib/a.h '#pragma once' '#define A 1' 'int a(void);'
put src/lib/done.c '/* SPDX-License-Identifier: GPL-3.0-or-later */' 'int done;'
put src/server/api/dashboard/index.html '<!doctype html>' '<html><body></body></html>'
put src/server/api/dashboard/app.js '"use strict";'
put src/server/api/dashboard_assets.S '	.section .note.GNU-stack, "", @progbits'
put tests/t.py '#!/usr/bin/python3' '"""doc"""' 'print(__doc__)'
put scripts/run '#!/bin/sh' 'echo ran'
put scripts/x.sh 'echo x'
put tests/zones/example.zone '@ SOA . . 1 2 3 4 5'
put tests/fuzz/corpus/q 'data'
put docs/d.c 'int outside;'
head -n 2 "$here/LICENSE" > "$tmp/t/LICENSE"
chmod 755 "$tmp/t/tests/t.py" "$tmp/t/scripts/run"

want='scripts/run
scripts/x.sh
src/lib/a.c
src/lib/a.h
src/server/api/dashboard/app.js
src/server/api/dashboard/index.html
src/server/api/dashboard_assets.S
tests/t.py'
if got=$("$check" -C "$tmp/t" 2>/dev/null); then fail "passed with files missing the line"; fi
[ "$got" = "$want" ] || { printf 'got:\n%s\n' "$got" >&2; fail "wrong list"; }

"$check" -C "$tmp/t" --add || fail "--add"
"$check" -C "$tmp/t" > "$tmp/out" 2>&1 || { cat "$tmp/out" >&2; fail "files still missing after --add"; }
cd "$tmp/t"
[ "$(head -n 1 scripts/run)" = '#!/bin/sh' ] && [ "$(head -n 1 tests/t.py)" = '#!/usr/bin/python3' ] || fail "#! not first"
[ "$(head -n 1 src/server/api/dashboard/index.html)" = '<!doctype html>' ] || fail "<!doctype> not first"
[ -x scripts/run ] && [ -x tests/t.py ] || fail "mode lost"
[ "$(sh scripts/run)" = ran ] && [ "$(/usr/bin/python3 tests/t.py)" = doc ] || fail "a script no longer runs"
grep -q '^/\* SPDX-License-Identifier: GPL-3.0-or-later \*/$' src/lib/a.h || fail "a.h: C comment"
[ "$(grep -c SPDX src/lib/done.c)" = 1 ] || fail "done.c got a second line"
cc=${CC:-cc}
if command -v "$cc" > /dev/null; then
	"$cc" -c src/lib/a.c -o "$tmp/a.o" && "$cc" -c src/server/api/dashboard_assets.S -o "$tmp/s.o" ||
		fail "C or assembly no longer compiles"
fi
# A LICENSE that is not GPL-3's text fails.
cd "$tmp"
echo "MIT License" > t/LICENSE
if "$check" -C "$tmp/t" > "$tmp/out" 2>&1; then fail "passed with an MIT LICENSE"; fi
grep -q "LICENSE: not the GNU GPL version 3" "$tmp/out" || { cat "$tmp/out" >&2; fail "LICENSE not named"; }
echo "test_spdx: ok"

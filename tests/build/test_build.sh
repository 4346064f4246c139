#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The build as a distribution runs it: make CFLAGS=... keeps runway's own
# flags, CPPFLAGS reaches every compile, hardening is on, a change of flags
# rebuilds and no change rebuilds nothing, the version comes from VERSION,
# install puts the files under DESTDIR/PREFIX/sysconfdir and the installed
# sample configuration passes `runway check`, a missing library is named.
# One real build (in a temporary BUILD, -O1 -g); the rest are dry runs or
# one object. Run by `make build-test` (from `make test`); about 15 s on 2 cores.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
# What the calling make and the environment set must not leak in.
unset MAKEFLAGS MFLAGS MAKELEVEL CFLAGS CPPFLAGS LDFLAGS LDLIBS SANITIZE BUILD HARDEN \
	PREFIX prefix DESTDIR sysconfdir PKG_CONFIG 2>/dev/null || true
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
b=$tmp/build
version=$(cat VERSION)
t0=$(date +%s)
cflags="-O1 -g"     # -g: the build path must not reach the debug information
fail() { echo "test_build: FAIL: $*" >&2; exit 1; }
# compiles LOG: the compile lines of a make log (one per C source)
compiles() { grep -E -- ' -c src/[^ ]+\.c ' "$1" || true; }
# every LOG WORD: each compile line of LOG has WORD (a whole word)
every() {
	n=$(compiles "$1" | wc -l)
	[ "$n" -gt 0 ] || fail "$1: no compile line"
	m=$(compiles "$1" | grep -c -F -e " $2 " || true)
	[ "$m" -eq "$n" ] || { compiles "$1" | grep -v -F -e " $2 " | head -n 2 >&2; fail "$1: $2 missing from $((n - m)) of $n compiles"; }
}
# none LOG WORD: no compile line of LOG has WORD
none() {
	! compiles "$1" | grep -q -F -e " $2 " || { compiles "$1" | grep -F -e " $2 " | head -n 2 >&2; fail "$1: $2 present"; }
}

# 1. make CFLAGS="-O1 -g": the user's optimisation, runway's own flags kept.
touch "$tmp/t1"
make -j2 BUILD="$b" CFLAGS="$cflags" all > "$tmp/1.log" 2>&1 || { tail -n 30 "$tmp/1.log" >&2; fail "make CFLAGS=$cflags"; }
nsrc=$(ls src/lib/*.c src/server/*/*.c src/tools/runway/*.c | wc -l)
[ "$(compiles "$tmp/1.log" | wc -l)" -eq "$nsrc" ] || fail "1.log: $nsrc sources, $(compiles "$tmp/1.log" | wc -l) compiled"
for w in -O1 -Isrc -D_GNU_SOURCE "-DRUNWAY_VERSION='\"$version\"'" -Wall -Wextra \
	-D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE "-ffile-prefix-map=$root=."; do
	every "$tmp/1.log" "$w"
done
none "$tmp/1.log" -O2
[ "$("$b/runwayd" --version)" = "runwayd $version" ] || fail "runwayd --version: $("$b/runwayd" --version)"
[ "$("$b/runway" --version)" = "runway $version" ] || fail "runway --version: $("$b/runway" --version)"
for bin in "$b/runwayd" "$b/runway"; do
	readelf -d "$bin" | grep -q "FLAGS_1.*PIE" || fail "$bin: not PIE"
	readelf -d "$bin" | grep -qE "BIND_NOW|FLAGS_1.*NOW" || fail "$bin: no -z now"
	readelf -lW "$bin" | grep -q GNU_RELRO || fail "$bin: no RELRO"
	nm -D "$bin" | grep -q " U __stack_chk_fail" || fail "$bin: no stack protector"
	nm -D "$bin" | grep -qE " U __[a-z]+_chk" || fail "$bin: not fortified"
	! grep -q -a -F "$root" "$bin" || fail "$bin: holds the build path $root"
done

# 2. The same flags again: nothing to rebuild.
make BUILD="$b" CFLAGS="$cflags" all > "$tmp/2.log" 2>&1 || fail "make again"
grep -q "build flags changed" "$tmp/2.log" && fail "2.log: the flags file changed"
# (a source edited while this runs is rebuilt, rightly: then these checks are skipped)
edited() { [ -n "$(find src -newer "$tmp/t1" -print -quit)" ]; }
edited || [ -z "$(compiles "$tmp/2.log")" ] || fail "2.log: recompiled with unchanged flags: $(compiles "$tmp/2.log" | grep -oE -- "-c src/[^ ]+" | head -n 3)"
edited || ! grep -q -- "-o $b/runwayd" "$tmp/2.log" || fail "2.log: relinked with unchanged flags"

# 3. install: DESTDIR, PREFIX, sysconfdir; nothing rebuilt; the sample runs.
d=$tmp/dest
make BUILD="$b" CFLAGS="$cflags" install DESTDIR="$d" PREFIX=/usr sysconfdir=/etc > "$tmp/3.log" 2>&1 ||
	{ cat "$tmp/3.log" >&2; fail "make install"; }
edited || [ -z "$(compiles "$tmp/3.log")" ] || fail "3.log: install recompiled"
[ -x "$d/usr/sbin/runwayd" ] && [ -x "$d/usr/bin/runway" ] || fail "install: binaries not in $d/usr/{s,}bin"
cmp -s "$d/etc/runway/runway.sample.yaml" examples/quickstart/runway.yaml || fail "install: runway.sample.yaml"
for f in example.com.zone example.com.office.inc; do
	cmp -s "$d/etc/runway/$f" "examples/quickstart/$f" || fail "install: $d/etc/runway/$f"
done
[ "$("$d/usr/sbin/runwayd" --version)" = "runwayd $version" ] || fail "installed runwayd --version"
"$d/usr/bin/runway" check -c "$d/etc/runway/runway.sample.yaml" > "$tmp/check.log" 2>&1 ||
	{ cat "$tmp/check.log" >&2; fail "runway check of the installed sample"; }
make BUILD="$b" CFLAGS="$cflags" install DESTDIR="$tmp/d2" > "$tmp/3b.log" 2>&1 || fail "make install (default PREFIX)"
[ -x "$tmp/d2/usr/local/sbin/runwayd" ] && [ -f "$tmp/d2/usr/local/etc/runway/runway.sample.yaml" ] ||
	fail "install: default PREFIX is not /usr/local"
make BUILD="$b" CFLAGS="$cflags" uninstall DESTDIR="$tmp/d2" > "$tmp/3c.log" 2>&1 || fail "make uninstall"
[ -z "$(find "$tmp/d2" -type f)" ] || fail "uninstall left $(find "$tmp/d2" -type f | head -n 1)"

# 4. CPPFLAGS as dpkg-buildflags sets them: added to every compile, and its
# _FORTIFY_SOURCE replaces ours (no redefinition). A dry run, then one object.
make -n BUILD="$b" CPPFLAGS="-DX=1 -D_FORTIFY_SOURCE=2" all > "$tmp/4.log" 2>&1 || fail "make -n CPPFLAGS"
[ "$(compiles "$tmp/4.log" | wc -l)" -eq "$nsrc" ] || fail "4.log: a change of flags does not rebuild everything"
for w in -DX=1 -O2 -g -Isrc -D_FORTIFY_SOURCE=2; do every "$tmp/4.log" "$w"; done
none "$tmp/4.log" -U_FORTIFY_SOURCE
make BUILD="$b" CPPFLAGS="-DX=1 -D_FORTIFY_SOURCE=2" "$b/obj/lib/error.o" > "$tmp/4b.log" 2>&1 ||
	{ cat "$tmp/4b.log" >&2; fail "make CPPFLAGS=-DX=1 (one object)"; }
grep -q "build flags changed" "$tmp/4b.log" && every "$tmp/4b.log" -DX=1 || fail "4b.log: not rebuilt with -DX=1"
! grep -q "warning:" "$tmp/4b.log" || { cat "$tmp/4b.log" >&2; fail "warnings with CPPFLAGS=-D_FORTIFY_SOURCE=2"; }
# -O0: no _FORTIFY_SOURCE (glibc warns without optimisation); HARDEN=0: none.
make -n BUILD="$b" CFLAGS="-O2 -O0" all > "$tmp/4c.log" 2>&1 || fail "make -n CFLAGS=-O0"
none "$tmp/4c.log" -D_FORTIFY_SOURCE=2
make -n BUILD="$b" HARDEN=0 all > "$tmp/4d.log" 2>&1 || fail "make -n HARDEN=0"
none "$tmp/4d.log" -fstack-protector-strong

# 5. A missing library is named, with its Debian package, before any compile.
cat > "$tmp/pkg-config" <<EOF
#!/bin/sh
[ "\$1" = --exists ] && case "\$2" in libknot|lmdb) exit 1;; esac
exec pkg-config "\$@"
EOF
chmod +x "$tmp/pkg-config"
if make BUILD="$tmp/miss" PKG_CONFIG="$tmp/pkg-config" all > "$tmp/5.log" 2>&1; then fail "built without libknot"; fi
grep -qF 'missing: libknot (Debian: libknot-dev), lmdb (Debian: liblmdb-dev)' "$tmp/5.log" ||
	{ cat "$tmp/5.log" >&2; fail "5.log: the missing libraries are not named"; }
[ -z "$(compiles "$tmp/5.log")" ] || fail "5.log: compiled without the libraries"
if make BUILD="$tmp/miss" PKG_CONFIG="$tmp/no-such-pkg-config" all > "$tmp/5b.log" 2>&1; then fail "built without pkg-config"; fi
grep -qF "missing: $tmp/no-such-pkg-config (Debian: pkg-config)" "$tmp/5b.log" || { cat "$tmp/5b.log" >&2; fail "5b.log"; }

echo "test_build: ok ($(( $(date +%s) - t0 )) s)"

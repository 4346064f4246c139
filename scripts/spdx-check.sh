#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# List the source files of src/, tests/, bench/ and scripts/ that have no
# "SPDX-License-Identifier:" line in their first 5 lines; exit 1 if any.
# Sources: C (.c .h .S), Python, shell, the dashboard's .js/.css/.html, and
# any other file that starts with "#!". Data (zones, corpora, fixtures) is
# not source and is not listed.
#
#   scripts/spdx-check.sh          list them
#   scripts/spdx-check.sh --add    add "SPDX-License-Identifier: GPL-3.0-or-later"
#                                  to each, in the comment style of its type
#                                  (after a #! line or <!DOCTYPE>)
#   scripts/spdx-check.sh -C DIR   the tree at DIR instead of this one
#
# Files come from git (tracked, and new ones not ignored), or from find
# outside a git checkout. See README.md, Licence.
set -eu
cd "$(dirname "$0")/.."
id="GPL-3.0-or-later"
add=0
while [ $# -gt 0 ]; do
	case "$1" in
	--add) add=1 ;;
	-C) [ $# -ge 2 ] || { echo "spdx-check: -C needs a folder" >&2; exit 2; }; cd "$2"; shift ;;
	*) echo "usage: scripts/spdx-check.sh [-C DIR] [--add]" >&2; exit 2 ;;
	esac
	shift
done

files() {
	if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
		git ls-files --cached --others --exclude-standard -- src tests bench scripts
	else
		for d in src tests bench scripts; do [ ! -d "$d" ] || find "$d" -type f; done
	fi | sort -u
}

# kind FILE: the comment style of FILE, or nothing if it is not source
kind() {
	case "$1" in
	*.c|*.h|*.S|*.js|*.css) echo c ;;
	*.py|*.sh) echo hash ;;
	*.html) echo html ;;
	*) [ "$(head -c 2 "$1" 2>/dev/null)" = "#!" ] && echo hash || true ;;
	esac
}

# add FILE KIND: insert the line, after a first "#!" or "<!DOCTYPE" line
add_line() {
	case "$2" in
	c) line="/* SPDX-License-Identifier: $id */" ;;
	hash) line="# SPDX-License-Identifier: $id" ;;
	html) line="<!-- SPDX-License-Identifier: $id -->" ;;
	esac
	tmp="$1.spdx.$$"
	first=$(head -n 1 "$1")
	case "$first" in
	'#!'*|'<!DOCTYPE'*|'<!doctype'*) { printf '%s\n%s\n' "$first" "$line"; tail -n +2 "$1"; } > "$tmp" ;;
	*) { printf '%s\n' "$line"; cat "$1"; } > "$tmp" ;;
	esac
	chmod --reference="$1" "$tmp" 2>/dev/null || true
	mv "$tmp" "$1"
}

missing=0
# The licence the identifiers name is the one in LICENSE.
licence_ok=1
if ! head -n 2 LICENSE 2>/dev/null | tr -s ' ' | grep -q "Version 3, 29 June 2007"; then
	echo "LICENSE: not the GNU GPL version 3 text that $id names" >&2
	licence_ok=0
fi
for f in $(files); do
	[ -f "$f" ] || continue
	k=$(kind "$f")
	[ -n "$k" ] || continue
	head -n 5 "$f" | grep -q "SPDX-License-Identifier:" && continue
	if [ "$add" = 1 ]; then
		add_line "$f" "$k"
		continue
	fi
	echo "$f"
	missing=$((missing + 1))
done
if [ "$missing" -gt 0 ]; then
	echo "spdx-check: $missing file(s) without an SPDX-License-Identifier line (--add adds $id)" >&2
	exit 1
fi
[ "$licence_ok" = 1 ]

#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# docs/architecture.md shows the tree as it is: every folder of src/ (and of
# src/server/) is named in its "The tree" block, and every folder that block
# names under src/server/ exists. Run by `make layers`.
set -eu
cd "$(dirname "$0")/.."
doc=docs/architecture.md
tree=$(awk '/^## The tree/{t=1} t&&/^```/{n++; if(n==2) exit} t&&n==1' "$doc")
bad=0
for d in src/lib src/tools/runway $(find src/server -mindepth 1 -maxdepth 1 -type d | sort); do
	name=${d#src/server/}
	case $d in src/server/*) pat="(^|[ ,])$name/" ;; *) pat="$d/" ;; esac
	if ! printf '%s\n' "$tree" | grep -qE -- "$pat"; then
		echo "$doc: the tree does not show $d/" >&2; bad=1
	fi
done
for name in $(printf '%s\n' "$tree" | sed -n 's#^  \([a-z]*\)/.*#\1#p'); do
	[ -d "src/server/$name" ] || { echo "$doc: the tree shows $name/, which src/server/ has not" >&2; bad=1; }
done
[ $bad -eq 0 ] && echo "doc tree: ok (docs/architecture.md names every folder of src/)"
exit $bad

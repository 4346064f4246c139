#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Replace the option table in docs/configuration.md with the one the schema
# table in src/server/conf/conf.c generates (tests/unit/test_conf.c checks
# they agree). Usage: scripts/update-conf-doc.sh [BUILD_DIR]   (default: build)
set -eu
runwayd="${1:-build}/runwayd"
doc=docs/configuration.md
[ -x "$runwayd" ] || { echo "$runwayd not built (make)" >&2; exit 1; }
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$runwayd" --config-reference > "$table"
# The table is the first block of lines starting with "| Option |" up to the
# first line that does not start with "|".
/usr/bin/python3 - "$doc" "$table" <<'PY'
import sys
doc_path, table_path = sys.argv[1], sys.argv[2]
lines = open(doc_path).read().split("\n")
table = open(table_path).read().rstrip("\n").split("\n")
start = next(i for i, l in enumerate(lines) if l.startswith("| Option |"))
end = start
while end < len(lines) and lines[end].startswith("|"):
    end += 1
lines[start:end] = table
open(doc_path, "w").write("\n".join(lines))
PY

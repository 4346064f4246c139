#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Lookup timings on a generated GeoLite2-City-like database:
#   tests/geo/bench.sh [NETWORKS] [LOOKUPS]      (run from the repository root)
# NETWORKS (default 200000) IPv4 networks of /18 to /24 from 1.0.0.0 up, with
# full records (make_mmdb.pl --full); prints ns/lookup from tests/geo/bench_geo.c.
set -e
n=${1:-200000}
lookups=${2:-1000000}
dir=$(mktemp -d /tmp/runway-geo-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT

perl -e '
	srand(42);
	my @p = (["NA","US","CA",37.4,-122.1,"Mountain View"], ["EU","DE","HE",50.11,8.68,"Frankfurt"],
	         ["AS","JP","13",35.68,139.69,"Tokyo"], ["EU","IE","L",53.35,-6.26,"Dublin"],
	         ["SA","BR","SP",-23.55,-46.63,"Sao Paulo"], ["OC","AU","NSW",-33.87,151.21,"Sydney"],
	         ["AF","ZA","GP",-26.2,28.05,"Johannesburg"], ["EU","NL","-","-","-"]);
	my ($n, $a) = ($ARGV[0], 1 << 24);
	for (1 .. $n) {
		my $len = 18 + int(rand(7));
		my $size = 1 << (32 - $len);
		$a = ($a + $size - 1) & ~($size - 1);
		my @r = @{ $p[int(rand(@p))] };
		my $city = @r > 5 ? "$r[5] " . int(rand(1000)) : "";
		printf "%d.%d.%d.%d/%d %s %s %s %s %s %s\n", $a >> 24, ($a >> 16) & 255,
		       ($a >> 8) & 255, $a & 255, $len, @r[0 .. 4], $city;
		$a += $size;
	}
	printf STDERR "%d.%d.%d.%d\n", $a >> 24, ($a >> 16) & 255, ($a >> 8) & 255, $a & 255;
' "$n" > "$dir/networks.txt" 2> "$dir/last"
perl tests/geo/make_mmdb.pl --full "$dir/bench.mmdb" "$dir/networks.txt"
cc -std=gnu11 -O2 -D_GNU_SOURCE -Isrc -o "$dir/bench_geo" tests/geo/bench_geo.c \
	src/server/steer/geo.c -lmaxminddb -lm
"$dir/bench_geo" "$dir/bench.mmdb" 1.0.0.0 "$(cat "$dir/last")" "$lookups"

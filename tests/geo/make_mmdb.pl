#!/usr/bin/perl
# SPDX-License-Identifier: GPL-3.0-or-later
#
# make_mmdb.pl - write a small MaxMind-format test database in the
# GeoIP2/GeoLite2-City layout, for runway's tests.
#
#   perl tests/geo/make_mmdb.pl [--type DATABASE_TYPE] [--full] OUT.mmdb [INPUT]
#
# Without INPUT the built-in table below is written; INPUT "-" reads standard
# input. --type sets the metadata's database_type (default
# "runway-test-City"). --full adds what a real GeoLite2-City record carries
# besides (geoname ids, names in eight languages, registered_country,
# time_zone, postal code; made-up values) so that lookup timings are
# realistic (tests/geo/bench.sh).
#
# Input format: one network per line, fields separated by blanks:
#
#   PREFIX  CONTINENT  COUNTRY  SUBDIVISION  LATITUDE  LONGITUDE  [CITY NAME...]
#
#   PREFIX       an IPv4 or IPv6 network in CIDR form (203.0.113.0/24,
#                2001:db8:1::/48); a bare address means /32 or /128
#   CONTINENT    two-letter continent code: AF AN AS EU NA OC SA
#   COUNTRY      ISO 3166-1 alpha-2 code (US, DE)
#   SUBDIVISION  the ISO 3166-2 part after the dash, 1 to 3 letters or
#                digits (CA of US-CA, 13 of JP-13)
#   LATITUDE     degrees, -90..90
#   LONGITUDE    degrees, -180..180
#   CITY NAME    optional, the rest of the line (written as city.names.en)
#
# "-" stands for an unknown field; missing trailing fields are unknown too.
# A subdivision needs a country; coordinates come in pairs. Blank lines and
# text from "#" on are ignored. A later line overrides an earlier one where
# they overlap (a more specific network inside a wider one keeps the rest of
# the wider one). Example:
#
#   198.51.100.0/24   NA US CA  37.4   -122.1  Mountain View
#   100.64.10.0/24    EU NL -   -      -
#   100.64.12.0/24    EU
#
# Written: continent.code, country.iso_code, subdivisions.0.iso_code,
# location.latitude/longitude (double) and location.accuracy_radius, and
# city.names.en when given. IPv6 tree (ip_version 6, record size 28) with the
# IPv4 networks under ::/96 and ::ffff:0:0/96, 2001::/32, 2002::/16 aliased
# to them (networks inside those three cannot be inserted: use the IPv4
# form). Reserved and documentation ranges are allowed (the default table
# uses them).
#
# Errors in INPUT are reported as "INPUT:LINE: message" with exit status 1.

use strict;
use warnings;

use MaxMind::DB::Writer::Tree;

my $DEFAULT = <<'END';
# prefix          cont ctry sub  lat      lon       city
203.0.113.0/24     OC  AU  NSW  -33.87   151.21    Sydney
198.51.100.0/24    NA  US  CA    37.4   -122.1     Mountain View
192.0.2.0/24       EU  DE  HE    50.11     8.68    Frankfurt am Main
100.64.1.0/24      AS  JP  13    35.68   139.69    Tokyo
100.64.2.0/24      EU  IE  L     53.35    -6.26    Dublin
100.64.3.0/24      NA  US  VA    39.04   -77.49    Ashburn
100.64.4.0/24      SA  BR  SP   -23.55   -46.63    Sao Paulo
100.64.5.0/24      AF  ZA  GP   -26.20    28.05    Johannesburg
100.64.6.0/24      AS  SG  -      1.29   103.85    Singapore
100.64.7.0/24      EU  GB  ENG   51.51    -0.13    London
100.64.8.0/24      AS  IN  MH    19.08    72.88    Mumbai
100.64.9.0/24      NA  CA  QC    45.50   -73.57    Montreal
100.64.10.0/24     EU  NL  -      -        -
100.64.11.0/24     AN  AQ  -      -        -
100.64.12.0/24     EU  -   -      -        -
100.64.16.0/20     NA  US  -     37.751  -97.822
100.64.17.0/24     NA  US  TX    32.78   -96.80    Dallas
46.19.32.0/21      EU  CH  ZH    47.37     8.54    Zurich
41.203.64.0/20     AF  NG  LA     6.45     3.39    Lagos
1.0.128.0/17       AS  TH  10    13.75   100.50    Bangkok
2001:db8:1::/48    EU  FR  IDF   48.86     2.35    Paris
2001:db8:2::/48    NA  US  OR    45.84  -119.70    Boardman
2001:db8:3::/48    AS  JP  13    35.68   139.69    Tokyo
2001:db8:4::/48    OC  AU  VIC  -37.81   144.96    Melbourne
2001:db8:5::/48    SA  BR  SP   -23.55   -46.63    Sao Paulo
2001:db8:6::/48    EU  DE  -      -        -
2a01:4f8::/32      EU  DE  SN    50.48    12.37    Falkenstein
END

my $type = 'runway-test-City';
my $full = 0;
while ( @ARGV && $ARGV[0] =~ /^--/ ) {
    my $opt = shift @ARGV;
    if    ( $opt eq '--type' ) { $type = shift @ARGV; }
    elsif ( $opt eq '--full' ) { $full = 1; }
    else                       { $type = undef; last; }
}
die "usage: $0 [--type DATABASE_TYPE] [--full] OUT.mmdb [INPUT]\n"
    unless defined $type && $type ne '' && ( @ARGV == 1 || @ARGV == 2 );
my ( $out, $input ) = @ARGV;

my ( $name, $text );
if ( !defined $input ) {
    ( $name, $text ) = ( 'built-in table', $DEFAULT );
}
elsif ( $input eq '-' ) {
    $name = 'stdin';
    local $/;
    $text = <STDIN>;
}
else {
    $name = $input;
    open my $in, '<', $input or die "$input: cannot open: $!\n";
    local $/;
    $text = <$in>;
    close $in;
}

my %types = (
    continent       => 'map',
    country         => 'map',
    subdivisions    => [ 'array', 'map' ],
    location        => 'map',
    city            => 'map',
    names           => 'map',
    code            => 'utf8_string',
    iso_code        => 'utf8_string',
    en              => 'utf8_string',
    latitude        => 'double',
    longitude       => 'double',
    accuracy_radius => 'uint16',
    geoname_id      => 'uint32',
    time_zone       => 'utf8_string',
    postal          => 'map',
    registered_country => 'map',
    map { $_ => 'utf8_string' } qw(de es fr ja pt-BR ru zh-CN),
);

# --full: the rest of a GeoLite2-City record, made up from the codes.
my @LANGS = qw(de en es fr ja pt-BR ru zh-CN);
sub names {
    my ($base) = @_;
    return { map { $_ => "$base ($_)" } @LANGS };
}
sub geoname_id {
    my $h = 7;
    $h = ( $h * 31 + ord ) % 4000000 for split //, $_[0];
    return $h + 1;
}
sub fill {
    my ($rec) = @_;
    for my $k (qw(continent country)) {
        next unless $rec->{$k};
        my $code = $rec->{$k}{code} // $rec->{$k}{iso_code};
        $rec->{$k}{geoname_id} = geoname_id("$k$code");
        $rec->{$k}{names}      = names("$k $code");
    }
    if ( $rec->{country} ) {
        $rec->{registered_country} = { %{ $rec->{country} } };
    }
    for my $s ( @{ $rec->{subdivisions} // [] } ) {
        $s->{geoname_id} = geoname_id("sub$s->{iso_code}");
        $s->{names}      = names("subdivision $s->{iso_code}");
    }
    if ( $rec->{city} ) {
        my $en = $rec->{city}{names}{en};
        $rec->{city}{geoname_id} = geoname_id("city$en");
        $rec->{city}{names}      = { %{ names($en) }, en => $en };
        $rec->{postal}           = { code => sprintf( '%05d', geoname_id($en) % 100000 ) };
    }
    $rec->{location}{time_zone} = 'Etc/UTC' if $rec->{location};
}

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 28,
    database_type            => $type,
    languages                => ['en'],
    description              => { en => 'runway test database (tests/geo/make_mmdb.pl)' },
    map_key_type_callback    => sub { $types{ $_[0] } },
    alias_ipv6_to_ipv4       => 1,
    remove_reserved_networks => 0,
    merge_strategy           => 'none',
);

sub bad {
    my ( $line, $msg ) = @_;
    print STDERR "$name:$line: $msg\n";
    exit 1;
}

sub known { defined $_[0] && $_[0] ne '-' }

my $lineno = 0;
my $count  = 0;
for my $raw ( split /\n/, $text ) {
    $lineno++;
    ( my $l = $raw ) =~ s/#.*//;
    $l =~ s/^\s+|\s+$//g;
    next if $l eq '';
    my ( $prefix, $cont, $ctry, $sub, $lat, $lon, @city ) = split /\s+/, $l;

    my $net = $prefix;
    if ( $net !~ m{/} ) {
        $net .= $net =~ /:/ ? '/128' : '/32';
    }
    my ( $ip, $len ) = split m{/}, $net, 2;
    if ( $ip =~ /:/ ) {
        bad( $lineno, "bad prefix \"$prefix\"" )
            unless $ip =~ /^[0-9A-Fa-f:.]+$/ && $len =~ /^\d+$/ && $len <= 128;
    }
    else {
        my @o  = split /\./, $ip, -1;
        my $ok = @o == 4 && $len =~ /^\d+$/ && $len <= 32;
        $ok &&= !grep { !/^\d{1,3}$/ || $_ > 255 } @o;
        bad( $lineno, "bad prefix \"$prefix\"" ) unless $ok;
    }

    my %rec;
    if ( known($cont) ) {
        bad( $lineno, "bad continent \"$cont\" (AF AN AS EU NA OC SA)" )
            unless $cont =~ /^(AF|AN|AS|EU|NA|OC|SA)$/;
        $rec{continent} = { code => $cont };
    }
    if ( known($ctry) ) {
        bad( $lineno, "bad country \"$ctry\" (two letters)" ) unless $ctry =~ /^[A-Z]{2}$/;
        $rec{country} = { iso_code => $ctry };
    }
    if ( known($sub) ) {
        bad( $lineno, "bad subdivision \"$sub\" (1 to 3 letters or digits)" )
            unless $sub =~ /^[A-Z0-9]{1,3}$/;
        bad( $lineno, "a subdivision needs a country" ) unless $rec{country};
        $rec{subdivisions} = [ { iso_code => $sub } ];
    }
    if ( known($lat) || known($lon) ) {
        bad( $lineno, "latitude and longitude come together" )
            unless known($lat) && known($lon);
        my $num = qr/^[-+]?(\d+\.?\d*|\.\d+)$/;
        bad( $lineno, "bad latitude \"$lat\"" ) unless $lat =~ $num && abs($lat) <= 90;
        bad( $lineno, "bad longitude \"$lon\"" ) unless $lon =~ $num && abs($lon) <= 180;
        $rec{location} = {
            latitude        => 0 + $lat,
            longitude       => 0 + $lon,
            accuracy_radius => @city ? 20 : 1000,
        };
    }
    $rec{city} = { names => { en => join( ' ', @city ) } } if @city;
    bad( $lineno, "nothing known about $prefix" ) unless %rec;
    fill( \%rec ) if $full;

    eval { $tree->insert_network( $net, \%rec ); 1 }
        or bad( $lineno, "cannot insert $net: " . ( split / at \S+ line \d+|\n/, $@ )[0] );
    $count++;
}

open my $fh, '>:raw', $out or die "$out: cannot create: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: cannot write: $!\n";
print "$out: $count networks from $name\n";

$ORIGIN example.com.
$TTL 3600
@       SOA     ns1 hostmaster 1 7200 3600 1209600 300
@       NS      ns1
@       A       192.0.2.200
@       MX      10 mail
@       TXT     "apex-txt"
ns1     A       192.0.2.53
mail    A       192.0.2.25
www     A       192.0.2.80
www     AAAA    2001:db8::80
www     TXT     "zone-txt"
static  A       192.0.2.81
static  AAAA    2001:db8::81

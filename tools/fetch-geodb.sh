#!/bin/sh
# fetch-geodb.sh -- download the default country database for configs/.
#
# The database is @ip-location-db/geo-whois-asn-country-mmdb from the npm
# registry (CC0-1.0; data from RIR WHOIS / NRO statistics, see NRO_LICENSE in
# the package).  It uses the flat {"country_code": "DE"} layout; dnsd takes
# each country's continent from geo/country-continent.tsv.  The version and
# checksum are pinned, so every machine serves the same answers.
#
# Usage: tools/fetch-geodb.sh DEST_DIR   (does nothing if the file is there)
set -eu
dest=${1:-configs/geo}
name=geo-whois-asn-country.mmdb
version=2.3.2026061719
sha256=c5f7c0e9bd6a6ccb5a2e9634764544a0d08bd0bd8788b8aedfac87bea184c652
url=https://registry.npmjs.org/@ip-location-db/geo-whois-asn-country-mmdb/-/geo-whois-asn-country-mmdb-$version.tgz

if [ -f "$dest/$name" ] && echo "$sha256  $dest/$name" | sha256sum -c --status; then
    exit 0
fi
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching $url" >&2
curl -fsSL --retry 3 -m 300 -o "$tmp/pkg.tgz" "$url"
tar -xzf "$tmp/pkg.tgz" -C "$tmp" package/$name package/NRO_LICENSE package/README.md
if ! echo "$sha256  $tmp/package/$name" | sha256sum -c --status; then
    echo "fetch-geodb: checksum mismatch for $name from $url" >&2
    exit 1
fi
mv "$tmp/package/NRO_LICENSE" "$dest/NRO_LICENSE"
mv "$tmp/package/README.md" "$dest/README-ip-location-db.md"
mv "$tmp/package/$name" "$dest/$name"
echo "installed $dest/$name" >&2

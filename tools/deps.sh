#!/bin/sh
# deps.sh -- make sure the Debian packages named on the command line are
# installed.  Installs the missing ones with apt-get when run as root; prints
# the exact apt-get line and fails otherwise.  Does nothing when all are there.
set -eu
missing=""
for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "pooldns needs these Debian packages:$missing" >&2
    echo "install them with:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends $missing >&2

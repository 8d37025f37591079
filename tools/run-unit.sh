#!/bin/sh
# run-unit.sh -- run each cmocka test binary given; fail if any fails.
# Unit tests find their data relative to the repository top (tests/data).
set -u
fail=0
for t in "$@"; do
    if ! "$t"; then
        echo "FAILED: $t" >&2
        fail=1
    fi
done
exit $fail

#!/usr/bin/env python3
"""make-flat-test.py -- write the small generated MaxMind DB test files in this folder.

Run from anywhere:  python3 tests/data/geo/make-flat-test.py
Python 3 standard library only; output is byte-for-byte reproducible
(fixed build_epoch, networks inserted in a fixed order).

  flat-country-test.mmdb     IPv6 tree, IPv4 at ::/96 aliased at ::ffff:0:0/96,
                             flat {"country_code": "XX"} records (the layout of
                             the free CC0 databases)
  flat-country-v4-test.mmdb  the same IPv4 networks in an ip_version 4 tree
  asn-test.mmdb              IPv6 tree of ASN-style records, no country data
  geoip2-edge-test.mmdb      GeoIP2-layout records that MaxMind's test files
                             lack: registered_country only, country without
                             continent, continent only, unknown codes...

The MMDB format: https://maxmind.github.io/MaxMind-DB/ -- a binary search
tree of 24-bit record pairs, 16 zero bytes, a data section, then
"\\xab\\xcd\\xefMaxMind.com" and a metadata map.
"""
import ipaddress
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCH = 1700000000

# (network, country_code).  Chosen for tests/unit/test_geo.c: merges, nested
# networks, mixed /8s, special-purpose blocks the db (wrongly) maps, a
# pseudo-country "EU" and an unknown code "ZZ".
V4 = [
    ("1.0.0.0/24", "AU"),
    ("2.0.0.0/9", "FR"), ("2.128.0.0/10", "DE"), ("2.192.0.0/10", "NL"),   # 2/8: all Europe
    ("3.0.0.0/9", "US"), ("3.128.0.0/9", "US"),                          # merge into 3/8
    ("5.0.0.0/9", "DE"), ("5.128.0.0/9", "US"),                          # 5/8: mixed continents
    ("8.8.8.0/24", "US"),
    ("10.0.0.0/8", "US"),                                                # private: world
    ("41.0.0.0/8", "ZA"), ("41.128.0.0/9", "EG"),                        # nested, Africa
    ("81.2.69.0/24", "GB"),
    ("100.64.0.0/10", "BR"),                                             # shared space: world
    ("127.0.0.0/8", "US"),                                               # loopback: world
    ("185.0.0.0/16", "EU"),                                              # pseudo-country
    ("186.0.0.0/16", "ZZ"),                                              # unknown code
    ("192.168.1.0/24", "GB"),                                            # private: world
    ("200.0.0.0/8", "BR"), ("200.1.0.0/16", "AR"),                       # South America
    ("203.0.113.0/24", "JP"),                                            # documentation: world
    ("224.0.0.0/4", "US"),                                               # multicast: world
]
V6 = [
    ("2001:db8::/32", "DE"),                                             # documentation: world
    ("2400:cb00::/32", "US"),
    ("2600::/12", "US"),
    ("2a00:1450::/32", "IE"),
    ("2a01::/16", "FR"), ("2a01:4f8::/32", "DE"),                        # nested
    ("2c0f:f000::/20", "ZA"),
    ("fc00::/7", "US"),                                                  # unique local: world
    ("fe80::/10", "US"),                                                 # link-local: world
]
ASN = [
    ("1.0.0.0/24", {"autonomous_system_number": 13335,
                    "autonomous_system_organization": "Example One"}),
    ("81.2.69.0/24", {"autonomous_system_number": 20712,
                      "autonomous_system_organization": "Example Two"}),
    ("2a00:1450::/32", {"autonomous_system_number": 15169,
                        "autonomous_system_organization": "Example Three"}),
]

EDGE = [
    ("9.9.9.0/24", {"registered_country": {"iso_code": "SG"}}),
    ("9.9.10.0/24", {"country": {"iso_code": "CH"}}),
    ("9.9.11.0/24", {"continent": {"code": "OC"}}),
    ("9.9.12.0/24", {"country": {"iso_code": "TR"}, "continent": {"code": "EU"}}),
    ("9.9.13.0/24", {"country": {"iso_code": "A1"}, "continent": {"code": "XX"}}),
    ("9.9.14.0/24", {"country": "DE"}),
    ("9.9.15.0/24", {"country": {"iso_code": "gb"}, "registered_country": {"iso_code": "US"}}),
    ("2a03::/16", {"registered_country": {"iso_code": "NZ"}, "continent": {"code": "OC"}}),
]

# --- data section encoding ------------------------------------------------

def ctrl(typ, size):
    if typ <= 7:
        first, ext = typ << 5, b""
    else:
        first, ext = 0, bytes([typ - 7])
    if size < 29:
        return bytes([first | size]) + ext
    if size < 29 + 256:
        return bytes([first | 29]) + ext + bytes([size - 29])
    if size < 285 + 65536:
        return bytes([first | 30]) + ext + struct.pack(">H", size - 285)
    return bytes([first | 31]) + ext + struct.pack(">I", size - 65821)[1:]


def enc_uint(typ, v):
    b = v.to_bytes((v.bit_length() + 7) // 8, "big") if v else b""
    return ctrl(typ, len(b)) + b


def enc(v, typ_hint=None):
    if isinstance(v, str):
        b = v.encode()
        return ctrl(2, len(b)) + b
    if isinstance(v, dict):
        out = ctrl(7, len(v))
        for k, x in v.items():
            out += enc(k) + enc(x, META_TYPES.get(k))
        return out
    if isinstance(v, list):
        return ctrl(11, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, int):
        return enc_uint(typ_hint or 6, v)          # uint32 unless told
    raise TypeError(v)


META_TYPES = {"binary_format_major_version": 5, "binary_format_minor_version": 5,
              "ip_version": 5, "record_size": 5, "node_count": 6, "build_epoch": 9}


# --- search tree ----------------------------------------------------------

class Node:
    __slots__ = ("child",)

    def __init__(self, left=None, right=None):
        self.child = [left, right]


def insert(root, bits, nbits, length, value):
    """Set the network of the top `length` of nbits-bit `bits` to value."""
    node = root
    for d in range(length - 1):
        b = (bits >> (nbits - 1 - d)) & 1
        c = node.child[b]
        if not isinstance(c, Node):
            c = node.child[b] = Node(c, c)      # split a shorter network
        node = c
    node.child[(bits >> (nbits - 1 - (length - 1))) & 1] = value


def build(ip_version, nets, record_of, db_type):
    nbits = 128 if ip_version == 6 else 32
    root = Node()
    for net, rec in sorted(nets, key=lambda n: ipaddress.ip_network(n[0]).prefixlen):
        n = ipaddress.ip_network(net)
        bits, length = int(n.network_address), n.prefixlen
        if n.version == 4 and ip_version == 6:
            length += 96                         # IPv4 lives at ::/96
        insert(root, bits, nbits, length, ("data", record_of(rec)))
    if ip_version == 6:
        # Alias ::ffff:0:0/96 to the IPv4 subtree, as MaxMind's writer does.
        v4 = root
        for _ in range(96):
            v4 = v4.child[0]
        insert(root, 0xffff << 32, 128, 96, v4)

    # Number the nodes breadth-first; an aliased node gets one number.
    order, ids = [], {}
    queue = [root]
    while queue:
        n = queue.pop(0)
        if id(n) in ids:
            continue
        ids[id(n)] = len(order)
        order.append(n)
        queue += [c for c in n.child if isinstance(c, Node)]

    data, offsets = b"", {}
    for rec in RECORDS:
        offsets[len(offsets)] = len(data)
        data += enc(rec)
    count = len(order)

    def value(c):
        if isinstance(c, Node):
            return ids[id(c)]
        if c is None:
            return count
        return count + 16 + offsets[c[1]]

    tree = b"".join(struct.pack(">I", value(c))[1:] for n in order for c in n.child)
    meta = {
        "binary_format_major_version": 2, "binary_format_minor_version": 0,
        "build_epoch": EPOCH, "database_type": db_type,
        "description": {"en": "pooldns unit test data, see README.md"},
        "ip_version": ip_version, "languages": ["en"],
        "node_count": count, "record_size": 24,
    }
    return tree + bytes(16) + data + b"\xab\xcd\xefMaxMind.com" + enc(meta)


RECORDS = []


def record_of(rec):
    if rec not in RECORDS:
        RECORDS.append(rec)
    return RECORDS.index(rec)


def write(name, blob):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(blob)
    print("wrote %s (%d bytes)" % (name, len(blob)))


def main():
    global RECORDS
    RECORDS = []
    cc = lambda code: {"country_code": code}
    write("flat-country-test.mmdb",
          build(6, [(n, cc(c)) for n, c in V4 + V6], record_of, "flat-country-test"))
    RECORDS = []
    write("flat-country-v4-test.mmdb",
          build(4, [(n, cc(c)) for n, c in V4], record_of, "flat-country-v4-test"))
    RECORDS = []
    write("asn-test.mmdb", build(6, ASN, record_of, "asn-test"))
    RECORDS = []
    write("geoip2-edge-test.mmdb", build(6, EDGE, record_of, "geoip2-edge-test"))


if __name__ == "__main__":
    main()

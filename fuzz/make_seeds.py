#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus (fuzz/corpus/<target>/), a few valid
inputs per target in the layouts raft.c and labgob use.  Run it again
after a layout changes; make fuzz reads the seeds and never writes them."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def uvarint(x):
    out = bytearray()
    while True:
        b = x & 0x7F
        x >>= 7
        if x:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def i(v):  # zigzag int
    return uvarint((v << 1) ^ (v >> 63) if v >= 0 else ((v << 1) ^ -1) & (2**64 - 1))


def b(v):
    return bytes([1 if v else 0])


def blob(s):
    return uvarint(len(s)) + s


def count(n):
    return uvarint(n)


def cmd_int(v):  # the tester's commands: tag 'i' and an int
    return blob(b"i") + i(v)


def msgs(*ms):  # fuzz_rpc's framing: 2-byte length, then the message
    return b"".join(struct.pack("<H", len(m)) + m for m in ms)


def request_vote(term, cand, last_index, last_term, pre):
    return i(term) + i(cand) + i(last_index) + i(last_term) + b(pre)


def append_entries(term, leader, prev, prev_term, entries, commit):
    out = i(term) + i(leader) + i(prev) + i(prev_term) + count(len(entries))
    for t, c in entries:
        out += i(t) + blob(c)
    return out + i(commit)


def install_snapshot(term, leader, last_index, last_term, data):
    return i(term) + i(leader) + i(last_index) + i(last_term) + blob(data)


def state(term, voted, base, base_term, entries):
    out = i(term) + i(voted) + i(base) + i(base_term) + count(len(entries))
    for t, c in entries:
        out += i(t) + blob(c)
    return out


SNAP = i(5) + count(6) + b"".join(blob(cmd_int(k)) for k in range(6))

SEEDS = {
    "labgob": {
        "mixed": bytes([4, 0, 3, 2, 4]) + i(5) + blob(b"abc") + b(True) + count(2) + b"xy",
        "ranged": bytes([2, 1 | 8, 1 | 16]) + i(-1) + i(100),
        "long-varint": bytes([1, 0]) + b"\xff" * 9 + b"\x01",
    },
    "decode_state": {
        "empty": state(0, -1, 0, 0, []),
        "entries": state(3, 1, 0, 0, [(1, cmd_int(10)), (2, cmd_int(11)), (3, cmd_int(12))]),
        "snapshot": state(4, 2, 19, 3, [(3, cmd_int(20)), (4, b"s" + b"x" * 40)]),
    },
    "request_vote": {
        "vote": msgs(request_vote(1, 1, 0, 0, False)),
        "pre-then-vote": msgs(request_vote(2, 2, 3, 1, True), request_vote(2, 2, 3, 1, False)),
        "two-candidates": msgs(request_vote(1, 1, 0, 0, False), request_vote(1, 2, 0, 0, False)),
    },
    "append_entries": {
        "heartbeat": msgs(append_entries(1, 1, 0, 0, [], 0)),
        "append-commit": msgs(append_entries(1, 1, 0, 0, [(1, cmd_int(1)), (1, cmd_int(2))], 2)),
        "conflict": msgs(
            append_entries(1, 1, 0, 0, [(1, cmd_int(1)), (1, cmd_int(2)), (1, cmd_int(3))], 1),
            append_entries(2, 2, 1, 1, [(2, cmd_int(9))], 1),
            append_entries(2, 2, 5, 2, [], 2),
        ),
    },
    "install_snapshot": {
        "install": msgs(install_snapshot(1, 1, 5, 1, SNAP)),
        "install-then-append": msgs(
            install_snapshot(1, 1, 5, 1, SNAP),
            append_entries(1, 1, 5, 1, [(1, cmd_int(6))], 6),
        ),
        "behind-log": msgs(
            append_entries(1, 1, 0, 0, [(1, cmd_int(k)) for k in range(8)], 3),
            install_snapshot(1, 1, 5, 1, SNAP),
        ),
    },
}

for target, seeds in SEEDS.items():
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

#!/usr/bin/env python3
"""Writes the safetensors test corpus (python3 stdlib only; the output is committed).

tests/data/safetensors/malformed/: one file per defect, and EXPECTED.txt mapping each file to
a substring of the message the reader must refuse it with (tests/core/test_safetensors.cpp).
tests/data/safetensors/valid/: files from this independent writer that the reader must accept
(an unpadded header, so data sits at odd addresses; tensors listed out of offset order).

Usage: scripts/make-malformed-safetensors.py [output root, default tests/data/safetensors]
"""
import json
import os
import struct
import sys


def st_file(header, data=b"", length=None):
    """8-byte little-endian header length, header, data. `header` is a dict, str or bytes."""
    if isinstance(header, dict):
        header = json.dumps(header, separators=(",", ":"))
    if isinstance(header, str):
        header = header.encode("utf-8")
    n = len(header) if length is None else length
    return struct.pack("<Q", n) + header + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


F32_1 = entry("F32", [1], 0, 4)

# (file name, bytes, substring of the expected message). Each substring must occur in its own
# file's message only: the test checks that too.
MALFORMED = [
    ("short-file", b"\x08\x00\x00\x00\x00", "too short to hold the 8-byte header length"),
    ("header-too-large", struct.pack("<Q", 100_000_008) + b"{}      ",
     "exceeds the limit of 100000000 bytes"),
    ("header-past-eof", struct.pack("<Q", 64) + b'{"a":1}', "runs past the end of the file"),
    ("invalid-json", st_file('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}', b"\0" * 4),
     "header is not valid JSON"),
    ("invalid-utf8", st_file(b'{"w\xff":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
                             b"\0" * 4), "header is not valid UTF-8 (byte 0xff at header offset 3)"),
    ("header-not-object", st_file('[{"dtype":"F32","shape":[1],"data_offsets":[0,4]}]', b"\0" * 4),
     "must begin with '{' but begins with '['"),
    ("unknown-dtype", st_file({"w": entry("Q4_K", [1], 0, 4)}, b"\0" * 4),
     "unknown or unsupported dtype 'Q4_K'"),
    ("overlapping-offsets",
     st_file({"a": entry("F32", [4], 0, 16), "b": entry("F32", [4], 8, 24)}, b"\0" * 24),
     "tensors 'a' [0, 16] and 'b' [8, 24] overlap"),
    ("hole-between-tensors",
     st_file({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 12, 20)}, b"\0" * 20),
     "hole of 4 bytes between tensor 'a'"),
    ("hole-at-start", st_file({"a": entry("F32", [2], 4, 12)}, b"\0" * 12),
     "at the start of the data section"),
    ("offsets-past-buffer", st_file({"a": entry("F32", [4], 0, 16)}, b"\0" * 8),
     "past the end of the 8-byte data section"),
    ("size-mismatch", st_file({"a": entry("F32", [2, 3], 0, 20)}, b"\0" * 20),
     "has 20 bytes (data_offsets [0, 20]) but shape [2, 3] of F32 needs 24"),
    ("duplicate-names",
     st_file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
             '"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', b"\0" * 8),
     "duplicate tensor name 'a'"),
    ("duplicate-field",
     st_file('{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}', b"\0" * 4),
     "tensor 'a' has duplicate field 'dtype'"),
    ("duplicate-metadata-key",
     st_file('{"__metadata__":{"k":"x","k":"y"},'
             '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\0" * 4),
     "__metadata__ has duplicate key 'k'"),
    ("trailing-bytes", st_file({"a": F32_1}, b"\0" * 8), "4 trailing bytes after the last tensor"),
    ("data-without-tensors", st_file("{}      ", b"\0" * 4), "header lists no tensors but"),
    ("metadata-value-not-string", st_file({"__metadata__": {"step": 3}, "a": F32_1}, b"\0" * 4),
     "__metadata__ value for key 'step' must be a string"),
    ("metadata-not-object", st_file({"__metadata__": ["pt"], "a": F32_1}, b"\0" * 4),
     "__metadata__ must be an object of string values"),
    ("negative-shape", st_file({"a": entry("F32", [2, -1], 0, 0)}), "negative dimension -1"),
    ("shape-not-integers", st_file({"a": entry("F32", [2.5], 0, 8)}, b"\0" * 8),
     "shape must be an array of non-negative integers"),
    ("shape-overflow", st_file({"a": entry("I64", [2**32, 2**32], 0, 8)}, b"\0" * 8),
     "overflows a 64-bit byte count"),
    ("begin-after-end", st_file({"a": entry("F32", [1], 8, 4)}, b"\0" * 8),
     "with begin after end"),
    ("bad-data-offsets", st_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}},
                                 b"\0" * 4), "data_offsets must be [begin, end]"),
    ("unknown-field", st_file({"a": dict(F32_1, offsets=[0, 4])}, b"\0" * 4),
     "has unknown field 'offsets'"),
    ("missing-field", st_file({"a": {"dtype": "F32", "shape": [1]}}, b"\0" * 4),
     "lacks the field 'data_offsets'"),
    ("entry-not-object", st_file({"a": 3}), "must be an object with dtype, shape and data_offsets"),
    ("dtype-not-string", st_file({"a": entry(32, [1], 0, 4)}, b"\0" * 4),
     "dtype must be a string"),
    ("deep-nesting", st_file('{"a":{"dtype":"F32","shape":' + "[" * 40 + "]" * 40 +
                             ',"data_offsets":[0,4]}}', b"\0" * 4), "levels deep"),
]


def valid_mixed():
    """Every dtype, a 0-d scalar and a zero-size tensor; known values; unaligned data."""
    tensors = [  # (name, dtype, shape, struct format of the values, values), in offset order
        ("u.u8", "U8", [3], "<3B", [0, 128, 255]),
        ("l.i64", "I64", [2], "<2q", [-(2**40), 2**40 + 1]),
        ("e.empty", "F32", [0, 3], "<0f", []),
        ("m.bool", "BOOL", [4], "<4B", [1, 0, 0, 1]),
        ("f.f32", "F32", [2, 2], "<4f", [0.25, -1.0, 3.5, 1e-3]),
        ("h.f16", "F16", [2], "<2H", [0x3C00, 0xC000]),  # 1.0, -2.0
        ("s.scalar", "I32", [], "<i", [7]),
        ("i.i8", "I8", [2], "<2b", [-128, 127]),
        ("z.f64", "F64", [2], "<2d", [1.5, -2.25]),
        ("b.bf16", "BF16", [2], "<2H", [0x3F80, 0x3F00]),  # 1.0, 0.5
        ("a.i16", "I16", [3], "<3h", [-1, 2, 300]),
    ]
    header, data = {}, b""
    for name, dtype, shape, fmt, values in tensors:
        chunk = struct.pack(fmt, *values)
        header[name] = entry(dtype, shape, len(data), len(data) + len(chunk))
        data += chunk
    # Reverse-sorted keys: the reader must not rely on header order matching offset order.
    ordered = {"__metadata__": {"format": "pt", "writer": "make-malformed-safetensors.py"}}
    ordered.update({k: header[k] for k in sorted(header, reverse=True)})
    text = json.dumps(ordered, separators=(",", ":"))
    if (8 + len(text)) % 2 == 0:
        text += " "  # odd data start: exercises reads from unaligned addresses
    return st_file(text, data)


VALID = [
    ("mixed", valid_mixed()),
    # The reference implementation's own serialisation of an empty file with metadata.
    ("metadata-only", st_file('{"__metadata__":{"framework":"pt"}}     ')),
]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "safetensors")
    for sub in ("malformed", "valid"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    lines = ["# file<TAB>substring of the message the reader must refuse it with.",
             "# Generated by scripts/make-malformed-safetensors.py; edit that, then rerun it."]
    for name, blob, expected in MALFORMED:
        with open(os.path.join(root, "malformed", name + ".safetensors"), "wb") as f:
            f.write(blob)
        lines.append(f"{name}.safetensors\t{expected}")
    with open(os.path.join(root, "malformed", "EXPECTED.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for name, blob in VALID:
        with open(os.path.join(root, "valid", name + ".safetensors"), "wb") as f:
            f.write(blob)
    print(f"wrote {len(MALFORMED)} malformed and {len(VALID)} valid files under {root}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Reads TensorBoard event files with the Python standard library only: TFRecord framing,
both masked CRC-32C checks, and the Event / Summary protos decoded by hand. An independent
check of elarin's writer where `tensorboard` is not installed. Leaves out non-scalar values.

usage: read_tfevents.py FILE_OR_DIR...   (prints "step<TAB>tag<TAB>value"; exit 1 on a bad file)
"""
import os
import struct
import sys


def _crc32c_table():
    table = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ _TABLE[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(blob):
    pos = 0
    while pos < len(blob):
        if len(blob) - pos < 12:
            raise ValueError("truncated record header at byte %d" % pos)
        header = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[pos + 8:pos + 12])
        if length_crc != masked(crc32c(header)):
            raise ValueError("length CRC mismatch at byte %d" % pos)
        data = blob[pos + 12:pos + 12 + length]
        if len(data) != length or len(blob) < pos + 16 + length:
            raise ValueError("truncated record at byte %d" % pos)
        (data_crc,) = struct.unpack("<I", blob[pos + 12 + length:pos + 16 + length])
        if data_crc != masked(crc32c(data)):
            raise ValueError("data CRC mismatch at byte %d" % pos)
        yield data
        pos += 16 + length


def fields(msg):
    """Yields (field_number, wire_type, value): int for varints, bytes otherwise."""
    pos = 0

    def varint():
        nonlocal pos
        value, shift = 0, 0
        while True:
            b = msg[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    while pos < len(msg):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, wire, varint()
        elif wire == 1:
            yield number, wire, msg[pos:pos + 8]
            pos += 8
        elif wire == 5:
            yield number, wire, msg[pos:pos + 4]
            pos += 4
        elif wire == 2:
            n = varint()
            yield number, wire, msg[pos:pos + n]
            pos += n
        else:
            raise ValueError("unsupported wire type %d" % wire)


def decode_event(data):
    event = {"wall_time": 0.0, "step": 0, "file_version": None, "scalars": []}
    for number, wire, value in fields(data):
        if number == 1 and wire == 1:
            event["wall_time"] = struct.unpack("<d", value)[0]
        elif number == 2 and wire == 0:
            event["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3 and wire == 2:
            event["file_version"] = value.decode("utf-8")
        elif number == 5 and wire == 2:
            for vnum, vwire, v in fields(value):
                if vnum != 1 or vwire != 2:
                    continue
                tag, simple = None, None
                for xnum, xwire, x in fields(v):
                    if xnum == 1 and xwire == 2:
                        tag = x.decode("utf-8")
                    elif xnum == 2 and xwire == 5:
                        simple = struct.unpack("<f", x)[0]
                if simple is not None:
                    event["scalars"].append((tag, simple))
    return event


def event_files(arg):
    if os.path.isdir(arg):
        return sorted(os.path.join(arg, f) for f in os.listdir(arg) if "tfevents" in f)
    return [arg]


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ok = True
    for arg in argv[1:]:
        for path in event_files(arg):
            try:
                with open(path, "rb") as f:
                    blob = f.read()
                count = 0
                for data in records(blob):
                    event = decode_event(data)
                    count += 1
                    if event["file_version"] is not None:
                        print("# %s: file_version %s, wall_time %.3f"
                              % (os.path.basename(path), event["file_version"], event["wall_time"]))
                    for tag, value in event["scalars"]:
                        print("%d\t%s\t%r" % (event["step"], tag, value))
                print("# %d records, all CRCs valid" % count)
            except (ValueError, IndexError, struct.error) as e:
                print("%s: %s" % (path, e), file=sys.stderr)
                ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Data-only messages between the grader and a student process.

A message is a JSON header followed by the raw bytes of every array it carries. Decoding builds
nothing but ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``, numeric
``np.ndarray`` (copies, never views into the buffer) and the two marker types below, so a hostile
student process can send wrong data but can never make the grader run code (no pickle).

Wire format: 8-byte little-endian header length, the UTF-8 JSON header, then the array payloads
concatenated in the order the header lists them.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass

import numpy as np

#: dtypes that may cross the boundary (``np.dtype.str`` values, little-endian).
ALLOWED_DTYPES = frozenset(
    {"|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8"})
MAX_NDIM = 16
#: Largest JSON header (bytes) decoded. Array values travel as raw payload bytes, so a header holds
#: only structure and scalars; this bounds the Python objects a hostile message can make the grader
#: build (about 2 million nodes) whatever the message's total size.
MAX_HEADER_BYTES = 4 * 1024 * 1024


class CodecError(ValueError):
    """The message is malformed (the peer sent something that is not a valid message)."""


@dataclass(frozen=True)
class Handle:
    """An opaque object that stays in the student process (a ``cache``, an ``rng``).

    Attributes:
        id: index into the student process's object table.
        type: the object's type name, for messages (``"tuple"``, ``"Generator"``).
    """

    id: int
    type: str = "object"


@dataclass(frozen=True)
class Rng:
    """Ask the student process to build ``np.random.default_rng(seed)`` and keep it as a handle."""

    seed: int


@dataclass(frozen=True)
class Tensor:
    """What a student process reports about a torch tensor besides its values.

    Attributes:
        array: the values, moved to the CPU, same dtype.
        device: ``"cpu"`` or ``"cuda:0"``...
    """

    array: np.ndarray
    device: str


def encode(obj) -> bytes:
    """Serialise ``obj`` (the types listed in the module docstring) to bytes.

    Raises:
        CodecError: an object of another type, or an array of a non-numeric dtype.
    """
    blobs: list[bytes] = []

    def enc(o):
        if o is None or isinstance(o, (bool, str)):
            return o
        if isinstance(o, (int, np.integer)) and not isinstance(o, bool):
            return {"$int": str(int(o))}
        if isinstance(o, (float, np.floating)):
            f = float(o)
            return {"$float": repr(f)} if not math.isfinite(f) else f
        if isinstance(o, np.ndarray):
            a = np.ascontiguousarray(o).reshape(o.shape)  # ascontiguousarray makes 0-d 1-d
            if a.dtype.byteorder == ">":
                a = a.astype(a.dtype.newbyteorder("<"))
            if a.dtype.str not in ALLOWED_DTYPES:
                raise CodecError(f"arrays of dtype {a.dtype} cannot be exchanged")
            blobs.append(a.reshape(-1).view(np.uint8).data)  # copied once, by the join below
            return {"$nd": len(blobs) - 1, "dtype": a.dtype.str, "shape": list(a.shape)}
        if isinstance(o, Tensor):
            return {"$tensor": enc(o.array), "device": o.device}
        if isinstance(o, Handle):
            return {"$handle": o.id, "type": o.type}
        if isinstance(o, Rng):
            return {"$rng": int(o.seed)}
        if isinstance(o, tuple):
            return {"$tuple": [enc(x) for x in o]}
        if isinstance(o, list):
            return [enc(x) for x in o]
        if isinstance(o, dict):
            if not all(isinstance(k, str) for k in o):
                raise CodecError("dict keys must be str")
            return {"$dict": {k: enc(v) for k, v in o.items()}}
        raise CodecError(f"cannot encode {type(o).__name__}")

    header = json.dumps(enc(obj), allow_nan=False).encode()
    return b"".join([struct.pack("<Q", len(header)), header, *blobs])


def decode(data: bytes):
    """Inverse of :func:`encode`; validates everything it reads.

    Raises:
        CodecError: the bytes are not a well-formed message.
    """
    if len(data) < 8:
        raise CodecError("truncated message")
    (hlen,) = struct.unpack("<Q", data[:8])
    if hlen > len(data) - 8:
        raise CodecError("truncated header")
    if hlen > MAX_HEADER_BYTES:
        raise CodecError(f"header of {hlen:,} bytes, past the {MAX_HEADER_BYTES:,} decoded")
    try:
        tree = json.loads(data[8:8 + hlen].decode())
    except (ValueError, RecursionError, MemoryError) as exc:
        # ValueError: bad UTF-8, bad JSON, an integer past Python's 4,300-digit conversion limit
        raise CodecError(f"bad header: {type(exc).__name__}") from None
    payload = memoryview(data)[8 + hlen:]
    offsets: list[tuple[int, int]] = []

    # First pass: collect array sizes so payload offsets are known.
    def sizes(node):
        if isinstance(node, list):
            for x in node:
                sizes(x)
        elif isinstance(node, dict):
            if "$nd" in node:
                dt, shape = node.get("dtype"), node.get("shape")
                if dt not in ALLOWED_DTYPES or not isinstance(shape, list) or len(shape) > MAX_NDIM \
                        or not all(isinstance(s, int) and s >= 0 for s in shape):
                    raise CodecError("bad array descriptor")
                if node["$nd"] != len(offsets):
                    raise CodecError("arrays out of order")
                n = math.prod(shape) * np.dtype(dt).itemsize  # exact: no int64 overflow
                start = offsets[-1][1] if offsets else 0
                offsets.append((start, start + n))
            else:
                for v in node.values():
                    sizes(v)

    try:
        sizes(tree)
    except RecursionError:
        raise CodecError("header nested too deeply") from None
    if (offsets[-1][1] if offsets else 0) != len(payload):
        raise CodecError("payload size does not match the header")

    def dec(node):
        if node is None or isinstance(node, (bool, str, float)):
            return node
        if isinstance(node, int):
            return node
        if isinstance(node, list):
            return [dec(x) for x in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise CodecError("bad node")
        if "$nd" in node:
            start, end = offsets[node["$nd"]]
            arr = np.frombuffer(payload[start:end], dtype=np.dtype(node["dtype"]))
            return arr.reshape(node["shape"]).copy()
        if "$int" in node:
            return int(node["$int"])
        if "$float" in node:
            if node["$float"] not in ("nan", "inf", "-inf"):
                raise CodecError("bad float")
            return float(node["$float"])
        if "$tensor" in node:
            arr = dec(node["$tensor"])
            if not isinstance(arr, np.ndarray) or not isinstance(node.get("device"), str):
                raise CodecError("bad tensor")
            return Tensor(arr, node["device"][:32])
        if "$handle" in node:
            if not isinstance(node["$handle"], int):
                raise CodecError("bad handle")
            return Handle(node["$handle"], str(node.get("type", "object"))[:64])
        if "$rng" in node:
            return Rng(int(node["$rng"]))
        if "$tuple" in node:
            return tuple(dec(x) for x in node["$tuple"])
        if "$dict" in node and isinstance(node["$dict"], dict):
            return {str(k): dec(v) for k, v in node["$dict"].items()}
        raise CodecError("unknown node")

    try:
        return dec(tree)
    except (KeyError, TypeError, ValueError, IndexError, RecursionError, MemoryError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(f"bad message: {type(exc).__name__}") from None

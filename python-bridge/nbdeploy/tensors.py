"""numpy arrays as Open Inference Protocol tensors, in the binary layout of the /ws
protocol (docs/protocol.md): raw little-endian elements; BOOL one byte each; FP16 as
half-precision bits; BYTES as a u32 little-endian length and the UTF-8 bytes, per element."""

from __future__ import annotations

import struct

import numpy as np

NUMPY_OF = {
    "BOOL": np.dtype("bool"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
DATATYPE_OF = {v.newbyteorder("="): k for k, v in NUMPY_OF.items()}


def datatype_of(array: np.ndarray) -> str:
    if array.dtype.kind in "OUS":
        return "BYTES"
    try:
        return DATATYPE_OF[array.dtype.newbyteorder("=")]
    except KeyError:
        raise TypeError(f"numpy dtype {array.dtype} has no Open Inference Protocol datatype") from None


def encode(array: np.ndarray, datatype: str | None = None) -> tuple[dict, bytes]:
    """A tensor header (without name) and its bytes."""
    datatype = datatype or datatype_of(array)
    shape = list(array.shape)
    if datatype == "BYTES":
        parts = []
        for item in array.reshape(-1):
            raw = item if isinstance(item, bytes) else str(item).encode("utf-8")
            parts.append(struct.pack("<I", len(raw)))
            parts.append(raw)
        return {"datatype": datatype, "shape": shape}, b"".join(parts)
    data = np.ascontiguousarray(array, dtype=NUMPY_OF[datatype])
    return {"datatype": datatype, "shape": shape}, data.tobytes()


def decode(header: dict, payload: memoryview, offset: int) -> tuple[np.ndarray, int]:
    """The tensor a header describes, read from payload at offset; and the bytes used."""
    shape = tuple(header["shape"])
    count = int(np.prod(shape)) if shape else 1
    datatype = header["datatype"]
    if datatype == "BYTES":
        out = np.empty(count, dtype=object)
        at = offset
        for i in range(count):
            (length,) = struct.unpack_from("<I", payload, at)
            out[i] = bytes(payload[at + 4 : at + 4 + length]).decode("utf-8")
            at += 4 + length
        return out.reshape(shape), at - offset
    dtype = NUMPY_OF[datatype]
    size = count * dtype.itemsize
    array = np.frombuffer(payload[offset : offset + size], dtype=dtype).reshape(shape).copy()
    return array, size


def frame(header: dict, payloads: list[bytes]) -> bytes:
    """A binary frame: u32 LE header length, the JSON header, the payloads."""
    import json

    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return b"".join([struct.pack("<I", len(raw)), raw, *payloads])


def split_frame(data: bytes) -> tuple[dict, memoryview]:
    import json

    (length,) = struct.unpack_from("<I", data, 0)
    header = json.loads(bytes(data[4 : 4 + length]).decode("utf-8"))
    return header, memoryview(data)[4 + length :]

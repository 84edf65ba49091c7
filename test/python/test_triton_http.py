"""Triton's binary tensor data extension from Python, with requests built as
`tritonclient.http` builds them from numpy arrays (its `InferInput.set_data_from_numpy`,
`_get_inference_request` and `InferResult`): compact JSON, then each array's `tobytes()`
(BYTES elements as a 4-byte little-endian length and the bytes), against a real service."""

from __future__ import annotations

import base64
import json
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

MODELS = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "models"

ARRAYS = {
    "BOOL": np.array([[True, False, True], [False, False, True]]),
    "UINT8": np.array([[0, 1, 255], [7, 128, 254]], dtype=np.uint8),
    "UINT16": np.array([[0, 1, 65535], [7, 256, 65534]], dtype=np.uint16),
    "UINT32": np.array([[0, 1, 4294967295], [7, 65536, 2147483648]], dtype=np.uint32),
    "UINT64": np.array([[0, 1, 18446744073709551615], [9007199254740993, 4294967296, 7]], dtype=np.uint64),
    "INT8": np.array([[-128, -1, 127], [0, 1, 126]], dtype=np.int8),
    "INT16": np.array([[-32768, -1, 32767], [0, 1, 2]], dtype=np.int16),
    "INT32": np.array([[-2147483648, -1, 2147483647], [0, 1, 2]], dtype=np.int32),
    "INT64": np.array([[-9223372036854775808, -9007199254740993, 9223372036854775807], [0, 1, 2]], dtype=np.int64),
    "FP16": np.array([[1.5, -0.1, 65504], [np.nan, np.inf, -0.0]], dtype=np.float16),
    "FP32": np.array([[0.1, -2.5, 3.4028235e38], [np.nan, -np.inf, 1e-45]], dtype=np.float32),
    "FP64": np.array([[np.pi, -0.0, 1e-300], [np.nan, np.inf, -123.456]], dtype=np.float64),
    "BYTES": np.array([[b"hello", b"", "h\u00e9llo".encode()], ["\u65e5\u672c".encode(), b"tab\t", "\U0001f389".encode()]], dtype=np.object_),
}
NUMPY = {"BOOL": "?", "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "INT8": "<i1", "INT16": "<i2",
         "INT32": "<i4", "INT64": "<i8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}


def serialize(datatype: str, array: np.ndarray) -> bytes:
    """As tritonclient.utils.serialize_byte_tensor for BYTES, else array.tobytes()."""
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(v)) + v for v in array.flatten(order="C"))
    return array.tobytes()


def deserialize(datatype: str, raw: bytes, shape: list[int]) -> np.ndarray:
    if datatype == "BYTES":
        values, at = [], 0
        while at < len(raw):
            (length,) = struct.unpack_from("<I", raw, at)
            values.append(raw[at + 4 : at + 4 + length])
            at += 4 + length
        return np.array(values, dtype=np.object_).reshape(shape)
    return np.frombuffer(raw, dtype=NUMPY[datatype]).reshape(shape)


def post(service, model: str, body: bytes, headers: dict[str, str]):
    req = urllib.request.Request(f"{service.url}/v2/models/{model}/infer", data=body, headers={"Authorization": f"Bearer {service.token}", **headers})
    try:
        with urllib.request.urlopen(req) as res:
            return res.status, res.headers, res.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture(scope="module")
def identities(service):
    for datatype in ARRAYS:
        name = f"identity_{datatype.lower()}"
        body = json.dumps({"parameters": {"file:1/model.onnx": base64.b64encode((MODELS / f"{name}.onnx").read_bytes()).decode()}}).encode()
        req = urllib.request.Request(f"{service.url}/v2/repository/models/{name}/load", data=body, headers={"Authorization": f"Bearer {service.token}"})
        with urllib.request.urlopen(req) as res:
            assert res.status == 200
    return service


@pytest.mark.parametrize("datatype", list(ARRAYS))
def test_every_datatype_round_trips_as_tritonclient_sends_it(identities, datatype):
    array = ARRAYS[datatype]
    raw = serialize(datatype, array)
    # InferInput("x", shape, datatype).set_data_from_numpy(array); infer() without outputs.
    header = json.dumps(
        {"inputs": [{"name": "x", "shape": list(array.shape), "datatype": datatype, "parameters": {"binary_data_size": len(raw)}}],
         "parameters": {"binary_data_output": True}},
        separators=(",", ":"),
    ).encode()
    status, headers, body = post(identities, f"identity_{datatype.lower()}", header + raw, {"Inference-Header-Content-Length": str(len(header))})
    assert status == 200, body
    length = int(headers["Inference-Header-Content-Length"])
    result = json.loads(body[:length])
    (output,) = result["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("y", datatype, list(array.shape))
    size = output["parameters"]["binary_data_size"]
    assert len(body) == length + size
    back = deserialize(datatype, body[length:], output["shape"])
    if datatype.startswith("FP"):
        # Bit for bit: NaN, -0 and the infinities included.
        assert back.tobytes() == array.tobytes()
    else:
        assert np.array_equal(back, array)


def test_a_size_that_does_not_fit_the_shape_is_refused_naming_the_input(identities):
    raw = np.zeros((2, 3), dtype=np.float32).tobytes()[:20]
    header = json.dumps({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "parameters": {"binary_data_size": 20}}]}, separators=(",", ":")).encode()
    status, _, body = post(identities, "identity_fp32", header + raw, {"Inference-Header-Content-Length": str(len(header))})
    assert status == 400
    assert json.loads(body) == {
        "error": 'input "x": parameters.binary_data_size is 20 bytes; shape [2, 3] of FP32 takes 24',
        "code": "NBD_ERR_INPUT_DATA",
    }

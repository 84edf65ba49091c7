"""OIP v2 gRPC from Python: a grpcio client whose stubs grpcio-tools generates from the
protocol's proto (into a temporary folder, at test time), against a real
`nbdeploy serve --grpc-port 0`."""

from __future__ import annotations

import base64
import importlib
import json
import struct
import sys
import urllib.request
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "kernel-service" / "proto" / "grpc_predict_v2.proto"
MODELS = ROOT / "test" / "fixtures" / "models"
IRIS = json.loads((MODELS / "iris_classifier.expected.json").read_text())


@pytest.fixture(scope="module")
def pb(tmp_path_factory):
    """The generated modules: messages (pb2) and the service stub (pb2_grpc)."""
    out = tmp_path_factory.mktemp("grpc-stubs")
    code = protoc.main(["grpc_tools.protoc", f"-I{PROTO.parent}", f"--python_out={out}", f"--grpc_python_out={out}", str(PROTO)])
    assert code == 0, "grpc_tools.protoc could not compile the proto"
    sys.path.insert(0, str(out))
    try:
        pb2 = importlib.import_module("grpc_predict_v2_pb2")
        pb2_grpc = importlib.import_module("grpc_predict_v2_pb2_grpc")
        yield pb2, pb2_grpc
    finally:
        sys.path.remove(str(out))
        sys.modules.pop("grpc_predict_v2_pb2", None)
        sys.modules.pop("grpc_predict_v2_pb2_grpc", None)


@pytest.fixture(scope="module")
def grpc_service(start_service):
    running = start_service("--grpc-port", "0")
    assert running.grpc_address, "serve --grpc-port 0 did not say where gRPC listens"
    for name, file in [("iris", "iris_classifier.onnx"), ("strings", "identity_bytes.onnx"), ("halves", "identity_fp16.onnx")]:
        body = json.dumps({"parameters": {"file:1/model.onnx": base64.b64encode((MODELS / file).read_bytes()).decode()}}).encode()
        req = urllib.request.Request(
            f"{running.url}/v2/repository/models/{name}/load",
            data=body,
            headers={"Authorization": f"Bearer {running.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req) as res:
            assert res.status == 200
    return running


@pytest.fixture()
def stub(pb, grpc_service):
    _, pb2_grpc = pb
    with grpc.insecure_channel(grpc_service.grpc_address) as channel:
        yield pb2_grpc.GRPCInferenceServiceStub(channel)


@pytest.fixture()
def auth(grpc_service):
    return (("authorization", f"Bearer {grpc_service.token}"),)


def nbd_code(error: grpc.RpcError) -> str | None:
    return dict(error.trailing_metadata() or ()).get("nbd-error-code")


def test_health_without_a_token_and_metadata_with_one(pb, stub, auth):
    pb2, _ = pb
    assert stub.ServerLive(pb2.ServerLiveRequest()).live
    assert stub.ServerReady(pb2.ServerReadyRequest()).ready
    server = stub.ServerMetadata(pb2.ServerMetadataRequest(), metadata=auth)
    assert server.name == "nbdeploy" and "model_repository" in server.extensions
    model = stub.ModelMetadata(pb2.ModelMetadataRequest(name="iris"), metadata=auth)
    assert model.platform == "onnxruntime_onnx" and list(model.versions) == ["1"]
    assert [(t.name, t.datatype, list(t.shape)) for t in model.inputs] == [("input", "FP32", [-1, 4])]
    assert {t.name for t in model.outputs} == {"label", "probabilities"}
    assert stub.ModelReady(pb2.ModelReadyRequest(name="iris"), metadata=auth).ready


def test_the_token_is_required(pb, stub):
    pb2, _ = pb
    for metadata in [(), (("authorization", "Bearer wrong-token-of-some-length"),)]:
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelMetadata(pb2.ModelMetadataRequest(name="iris"), metadata=metadata)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert nbd_code(caught.value) == "NBD_ERR_UNAUTHORIZED"


def test_iris_in_raw_contents_as_sklearn_predicts(pb, stub, auth):
    pb2, _ = pb
    rows = np.array(IRIS["input"], dtype=np.float32)
    request = pb2.ModelInferRequest(model_name="iris", id="py-raw")
    request.inputs.add(name="input", datatype="FP32", shape=list(rows.shape))
    request.raw_input_contents.append(rows.tobytes())
    response = stub.ModelInfer(request, metadata=auth)
    assert (response.model_name, response.model_version, response.id) == ("iris", "1", "py-raw")
    outputs = {o.name: (o, raw) for o, raw in zip(response.outputs, response.raw_output_contents)}
    label, raw = outputs["label"]
    assert label.datatype == "INT64" and list(label.shape) == [len(rows)]
    assert np.frombuffer(raw, dtype="<i8").tolist() == IRIS["label"]
    probabilities, raw = outputs["probabilities"]
    got = np.frombuffer(raw, dtype="<f4").reshape(list(probabilities.shape))
    np.testing.assert_allclose(got, np.array(IRIS["probabilities"]), atol=IRIS["atol"])


def test_iris_in_typed_contents(pb, stub, auth):
    pb2, _ = pb
    rows = IRIS["input"]
    request = pb2.ModelInferRequest(model_name="iris")
    tensor = request.inputs.add(name="input", datatype="FP32", shape=[len(rows), 4])
    tensor.contents.fp32_contents.extend([v for row in rows for v in row])
    request.outputs.add(name="label")
    response = stub.ModelInfer(request, metadata=auth)
    assert len(response.raw_output_contents) == 0
    assert [o.name for o in response.outputs] == ["label"]
    assert list(response.outputs[0].contents.int64_contents) == IRIS["label"]


def test_bytes_and_fp16_in_raw_contents(pb, stub, auth):
    pb2, _ = pb
    strings = ["hello", "", "héllo wörld", "日本語", "emoji 🎉", "tab\tnewline\n"]
    request = pb2.ModelInferRequest(model_name="strings")
    request.inputs.add(name="x", datatype="BYTES", shape=[2, 3])
    # Triton's layout: each element as a 4-byte little-endian length, then its bytes.
    request.raw_input_contents.append(b"".join(struct.pack("<I", len(s.encode())) + s.encode() for s in strings))
    raw = stub.ModelInfer(request, metadata=auth).raw_output_contents[0]
    back, at = [], 0
    while at < len(raw):
        (length,) = struct.unpack_from("<I", raw, at)
        back.append(raw[at + 4 : at + 4 + length].decode())
        at += 4 + length
    assert back == strings

    halves = np.array([[1.5, -0.1, 65504.0], [0.0, -2.0, 0.333]], dtype=np.float16)
    request = pb2.ModelInferRequest(model_name="halves")
    request.inputs.add(name="x", datatype="FP16", shape=[2, 3])
    request.raw_input_contents.append(halves.tobytes())
    response = stub.ModelInfer(request, metadata=auth)
    assert response.outputs[0].datatype == "FP16"
    assert np.array_equal(np.frombuffer(response.raw_output_contents[0], dtype="<f2").reshape(2, 3), halves)


def test_errors_are_grpc_statuses_naming_what_was_wrong(pb, stub, auth):
    pb2, _ = pb
    request = pb2.ModelInferRequest(model_name="nope")
    request.inputs.add(name="input", datatype="FP32", shape=[1, 4]).contents.fp32_contents.extend([1, 2, 3, 4])
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(request, metadata=auth)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert nbd_code(caught.value) == "NBD_ERR_MODEL_NOT_FOUND"
    assert '"nope"' in caught.value.details()

    request = pb2.ModelInferRequest(model_name="iris")
    request.inputs.add(name="input", datatype="FP32", shape=[2, 4])
    request.raw_input_contents.append(np.zeros(7, dtype=np.float32).tobytes())
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(request, metadata=auth)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == 'input "input": raw_input_contents[0] is 28 bytes; shape [2, 4] of FP32 takes 32'


def test_grpc_requests_are_counted_under_their_transport(pb, stub, auth, grpc_service):
    pb2, _ = pb
    request = pb2.ModelInferRequest(model_name="iris")
    request.inputs.add(name="input", datatype="FP32", shape=[1, 4]).contents.fp32_contents.extend(IRIS["input"][0])
    stub.ModelInfer(request, metadata=auth)
    req = urllib.request.Request(f"{grpc_service.url}/metrics", headers={"Authorization": f"Bearer {grpc_service.token}"})
    with urllib.request.urlopen(req) as res:
        text = res.read().decode()
    counted = [line for line in text.splitlines() if line.startswith("nbdeploy_inference_requests_total{") and 'transport="grpc"' in line and 'model="iris"' in line and 'outcome="ok"' in line]
    assert counted and float(counted[0].rsplit(" ", 1)[1]) >= 1

"""The committed ONNX fixtures are what test/fixtures/make_models.py builds, and do what
test/fixtures/models/README.md says (checked in Python onnxruntime, independently of the
Node service that the TypeScript tests exercise)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper
from sklearn.datasets import load_iris

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODELS = FIXTURES / "models"


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models")
    subprocess.run([sys.executable, str(FIXTURES / "make_models.py"), str(out)], check=True)
    return out


def test_rebuilding_gives_the_committed_models(rebuilt: Path) -> None:
    # Exact: the fixtures carry fixed weights, so no BLAS path or thread count may change a bit.
    committed = sorted(p.relative_to(MODELS) for p in MODELS.rglob("*.onnx"))
    assert committed == sorted(p.relative_to(rebuilt) for p in rebuilt.rglob("*.onnx"))
    for rel in committed:
        if rel.name in ("corrupt.onnx",):
            continue
        a = onnx.load(str(MODELS / rel), load_external_data=False)
        b = onnx.load(str(rebuilt / rel), load_external_data=False)
        assert [(n.op_type, list(n.input), list(n.output)) for n in a.graph.node] == [
            (n.op_type, list(n.input), list(n.output)) for n in b.graph.node
        ], rel
        for x, y in zip(a.graph.initializer, b.graph.initializer):
            if x.data_location == onnx.TensorProto.EXTERNAL:
                continue
            np.testing.assert_array_equal(numpy_helper.to_array(x), numpy_helper.to_array(y), err_msg=str(rel))


@pytest.mark.parametrize("name", ["iris_classifier.expected.json", "diabetes_regressor.expected.json"])
def test_rebuilding_gives_the_committed_expected_answers(rebuilt: Path, name: str) -> None:
    committed, again = (json.loads((folder / name).read_text()) for folder in (MODELS, rebuilt))
    assert committed.keys() == again.keys()
    for key in committed:
        if key in ("probabilities", "prediction"):  # exactly rounded sums; only libm's exp may move the last bit
            np.testing.assert_allclose(again[key], committed[key], rtol=1e-12, err_msg=key)
        else:
            assert again[key] == committed[key], key


def test_the_fixed_weights_still_classify_iris() -> None:
    iris = load_iris()
    (label, _) = session(MODELS / "iris_classifier.onnx").run(None, {"input": iris.data.astype(np.float32)})
    assert (label == iris.target).mean() >= 0.95


@pytest.mark.parametrize(
    "dtype,values",
    [
        ("bool", np.array([[True, False, True]])),
        ("int64", np.array([[-(2**63), 0, 2**63 - 1]], dtype=np.int64)),
        ("uint64", np.array([[0, 1, 2**64 - 1]], dtype=np.uint64)),
        ("fp16", np.array([[1.5, np.nan, -np.inf]], dtype=np.float16)),
        ("fp64", np.array([[np.nan, np.inf, -0.0]], dtype=np.float64)),
        ("bytes", np.array([["a", "é", ""]], dtype=object)),
    ],
)
def test_identity_models_return_their_input(dtype: str, values: np.ndarray) -> None:
    (out,) = session(MODELS / f"identity_{dtype}.onnx").run(None, {"x": values})
    np.testing.assert_array_equal(out, values)


def test_iris_classifier_gives_the_expected_answers() -> None:
    expected = json.loads((MODELS / "iris_classifier.expected.json").read_text())
    label, proba = session(MODELS / "iris_classifier.onnx").run(None, {"input": np.array(expected["input"], dtype=np.float32)})
    assert label.tolist() == expected["label"]
    np.testing.assert_allclose(proba, expected["probabilities"], atol=1e-5)


def test_corrupt_and_escaping_models_do_not_load() -> None:
    for name in ("corrupt.onnx", "external_escape.onnx"):
        with pytest.raises(Exception):
            session(MODELS / name)


def test_external_data_beside_the_model_loads() -> None:
    (y,) = session(MODELS / "external_ok" / "model.onnx").run(None, {"x": np.array([[1, 1]], dtype=np.float32)})
    np.testing.assert_allclose(y, [[2.5, -1.0]])

"""PyTorch modules (classifier with and without a softmax layer, one-column binary,
regressor) and ONNX models passed through as they are."""

import io
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from exporter_checks import assert_parity, check_format, run_onnx
from sklearn.linear_model import LogisticRegression

from nbdeploy.exporters import UnsupportedModelError, to_onnx

torch.manual_seed(0)


def mlp(n_in, n_out, *tail):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.ReLU(), torch.nn.Linear(16, n_out), *tail)


def standardized(X):
    X = X.to_numpy(dtype=np.float32)
    return (X - X.mean(0)) / X.std(0)


def train(module, X, y, loss, epochs=150):
    opt = torch.optim.Adam(module.parameters(), lr=0.02)
    Xt, yt = torch.from_numpy(np.array(X)), torch.from_numpy(np.array(y))
    for _ in range(epochs):
        opt.zero_grad()
        loss(module(Xt), yt).backward()
        opt.step()
    return module


@pytest.mark.parametrize("with_softmax", [False, True])
def test_classifier(with_softmax, wine):
    X, y = wine
    X = standardized(X)
    module = train(mlp(13, 3), X, y.to_numpy(), torch.nn.CrossEntropyLoss())
    if with_softmax:
        module = torch.nn.Sequential(module, torch.nn.Softmax(dim=1))
    module.train()  # exported and compared in eval mode regardless
    exported = to_onnx(module, X, y=y.to_numpy())
    check_format(exported)
    assert exported.library == "torch" and exported.task == "classification"
    assert exported.classes == [0, 1, 2]
    assert [(i.name, i.datatype, i.shape) for i in exported.inputs] == [("input", "FP32", (-1, 13))]
    ops = [n.op_type for n in onnx.load_from_string(exported.onnx_bytes).graph.node]
    assert ops.count("Softmax") == 1  # the module's own, or the one the export adds
    assert module.training
    assert_parity(exported, X, "torch classifier")


def test_string_classes_and_dataframe_sample(breast_cancer):
    X, y = breast_cancer
    Xs = standardized(X)
    labels = np.where(y.to_numpy() == 1, "benign", "malignant")
    module = train(mlp(30, 2), Xs, y.to_numpy(), torch.nn.CrossEntropyLoss())
    frame = X.copy()
    frame.loc[:, :] = Xs
    exported = to_onnx(module, frame, y=labels)
    assert exported.classes == ["benign", "malignant"]
    assert_parity(exported, frame, "torch classifier")


def test_binary_one_column(breast_cancer):
    X, y = breast_cancer
    X = standardized(X)
    module = train(mlp(30, 1), X, y.to_numpy().astype(np.float32).reshape(-1, 1), torch.nn.BCEWithLogitsLoss())
    for m in (module, torch.nn.Sequential(module, torch.nn.Sigmoid())):
        exported = to_onnx(m, X, y=y.to_numpy())
        assert next(o for o in exported.outputs if o.name == "probabilities").shape == (-1, 2)
        assert_parity(exported, X, "torch classifier")


def test_regressor(diabetes):
    X, y = diabetes
    X = standardized(X)
    target = y.to_numpy(dtype=np.float32).reshape(-1, 1)
    module = train(mlp(10, 1), X, target, torch.nn.MSELoss(), epochs=300)
    exported = to_onnx(module, X)
    assert exported.task == "regression" and exported.value_output == "prediction"
    assert next(o for o in exported.outputs if o.name == "prediction").shape == (-1,)
    assert_parity(exported, X, "torch regressor")
    # nd.export passes y for the training metrics: a numeric y that does not fit the
    # output as classes is the regression target
    assert to_onnx(module, X, y=y.to_numpy()).task == "regression"


def test_onnx_passthrough(tmp_path, iris):
    X, y = iris
    ours = to_onnx(LogisticRegression(max_iter=1000).fit(X, y), X)
    path = tmp_path / "model.onnx"
    path.write_bytes(ours.onnx_bytes)
    for given in (str(path), path, ours.onnx_bytes, onnx.load_from_string(ours.onnx_bytes)):
        passed = to_onnx(given, X)
        assert passed.library == "onnx" and passed.native_predict is None
        assert passed.onnx_bytes == ours.onnx_bytes  # as it is
        assert (passed.task, passed.classes, passed.label_output, passed.scores_output) == ("classification", [0, 1, 2], "label", "probabilities")
        assert [(i.name, i.datatype, i.shape) for i in passed.inputs] == [(i.name, i.datatype, i.shape) for i in ours.inputs]
        np.testing.assert_array_equal(run_onnx(passed, X)["label"], run_onnx(ours, X)["label"])


def test_foreign_onnx_regressor_and_classifier():
    """The repository's fixtures, made without nbdeploy's metadata."""
    models = Path(__file__).resolve().parents[2] / "fixtures" / "models"
    regressor = to_onnx(models / "diabetes_regressor.onnx", None)
    assert regressor.task == "regression" and regressor.value_output == "prediction" and regressor.label_output is None
    assert [(i.name, i.datatype, i.shape) for i in regressor.inputs] == [("input", "FP32", (-1, 10))]
    classifier = to_onnx(models / "iris_classifier.onnx", None)
    assert classifier.task == "classification"
    assert (classifier.label_output, classifier.scores_output) == ("label", "probabilities")
    feeds = classifier.feeds(np.zeros((2, 4)))
    assert feeds["input"].dtype == np.float32 and feeds["input"].shape == (2, 4)


def test_onnx_with_a_map_output_is_refused():
    from onnx import TensorProto, helper

    node = helper.make_node("ZipMap", ["p"], ["out"], domain="ai.onnx.ml", classlabels_int64s=[0, 1])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, 2])],
        [helper.make_value_info("out", helper.make_sequence_type_proto(helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, []))))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)])
    buffer = io.BytesIO()
    onnx.save(model, buffer)
    with pytest.raises(UnsupportedModelError, match="ZipMap"):
        to_onnx(buffer.getvalue(), None)


def test_the_input_takes_the_modules_dtype(diabetes):
    """A module's input is in its parameters' dtype, whatever the sample's dtype: FP32
    normally, FP64 for a module made double."""
    X, y = diabetes
    X = standardized(X)
    target = y.to_numpy(dtype=np.float32).reshape(-1, 1)
    module = train(mlp(10, 1), X, target, torch.nn.MSELoss(), epochs=50)
    X64 = X.astype(np.float64)
    single = to_onnx(module, X64)
    assert [(i.name, i.datatype) for i in single.inputs] == [("input", "FP32")]
    assert single.feeds(X64)["input"].dtype == np.float32
    double = to_onnx(module.double(), X)
    assert [(i.name, i.datatype, i.shape) for i in double.inputs] == [("input", "FP64", (-1, 10))]
    assert double.feeds(X)["input"].dtype == np.float64
    assert_parity(double, X64, "torch regressor")

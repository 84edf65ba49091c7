"""The notebook's exportable models, as the Models sidebar asks the kernel for them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from nbdeploy._discovery import exportable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def iris():
    from sklearn.datasets import load_iris

    data = load_iris(as_frame=True)
    return data.data, data.target


def test_lists_fitted_models_data_and_onnx_files(iris, tmp_path):
    X, y = iris
    (tmp_path / "churn.onnx").write_bytes(b"onnx")
    (tmp_path / "notes.txt").write_text("not a model")
    (tmp_path / "folder.onnx").mkdir()
    namespace = {
        "clf": LogisticRegression(max_iter=500).fit(X, y),
        "unfitted": StandardScaler(),
        "X_train": X,
        "y_train": y,
        "arr": np.zeros((3, 2)),
        "_hidden": LogisticRegression(max_iter=500).fit(X, y),
        "np": np,
        "n": 3,
    }
    found = exportable(namespace, tmp_path)
    assert found["models"] == [{"name": "clf", "kind": "sklearn", "type": "LogisticRegression"}]
    assert found["data"] == [
        {"name": "X_train", "type": "DataFrame", "shape": [150, 4]},
        {"name": "arr", "type": "ndarray", "shape": [3, 2]},
        {"name": "y_train", "type": "Series", "shape": [150]},
    ]
    assert found["onnx_files"] == ["churn.onnx"]
    assert found["artifacts"] == []
    # what the extension reads: JSON
    assert json.loads(json.dumps(found._repr_json_())) == dict(found)


def test_lists_torch_and_lightgbm_models_and_artifacts(iris, tmp_path):
    import lightgbm
    import torch

    from nbdeploy.artifact import ModelArtifact

    X, y = iris
    art = ModelArtifact(name="iris", onnx_bytes=b"", signature={})
    namespace = {
        "net": torch.nn.Sequential(torch.nn.Linear(4, 3)),
        "gbm": lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y),
        "art": art,
    }
    found = exportable(namespace, tmp_path)
    assert [(m["name"], m["kind"]) for m in found["models"]] == [("gbm", "lightgbm"), ("net", "pytorch")]
    assert found["artifacts"] == [{"name": "art", "model": "iris"}]


def test_does_not_import_libraries_the_notebook_did_not():
    code = (
        "import sys, json; sys.path.insert(0, %r)\n"
        "from nbdeploy._discovery import exportable\n"
        "found = exportable({'x': 1}, '.')\n"
        "print(json.dumps([m for m in ('torch', 'lightgbm', 'sklearn') if m in sys.modules]))"
    ) % str(ROOT / "python-bridge")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_reads_the_ipython_namespace_by_default(tmp_path, monkeypatch):
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.user_ns["frame"] = pd.DataFrame({"a": [1, 2]})
    monkeypatch.chdir(tmp_path)
    try:
        found = exportable()
        assert {"name": "frame", "type": "DataFrame", "shape": [2, 1]} in found["data"]
        assert found["onnx_files"] == []
    finally:
        del shell.user_ns["frame"]

"""Writes the ONNX model and the data the TypeScript quickstart uses
(run: .venv/bin/python examples/make_cancer_model.py):

- examples/cancer.onnx: a scikit-learn pipeline (StandardScaler, LogisticRegression) trained
  on scikit-learn's breast_cancer data, converted by nbdeploy's exporter: input "input"
  FP64 [N, 30]; outputs "label" INT64 [N] (0 malignant, 1 benign) and "probabilities"
  FP32 [N, 2]; the task and classes in its nbdeploy.* metadata.
- examples/cancer-data.json: the feature names and three splits of the rows with their
  labels — "train" (the sample register profiles), "holdout" (validate), "live" (predict,
  then feedback).

Deterministic: the same splits and the same model bytes on every run.
"""

import json
import sys
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python-bridge"))

from nbdeploy.exporters import to_onnx  # noqa: E402  (the repository's bridge, not an installed one)


def main() -> None:
    data = load_breast_cancer()
    X, y = data.data, data.target
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
    X_holdout, X_live, y_holdout, y_live = train_test_split(X_rest, y_rest, test_size=0.5, random_state=0, stratify=y_rest)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_train, y_train)
    exported = to_onnx(model, X_train)
    (HERE / "cancer.onnx").write_bytes(exported.onnx_bytes)
    split = lambda X_, y_: {"rows": X_.tolist(), "labels": y_.tolist()}  # noqa: E731
    payload = {
        "source": "scikit-learn breast_cancer (load_breast_cancer), split 50/25/25 with random_state=0",
        "feature_names": [str(n) for n in data.feature_names],
        "classes": {"0": "malignant", "1": "benign"},
        "train": split(X_train, y_train),
        "holdout": split(X_holdout, y_holdout),
        "live": split(X_live, y_live),
    }
    (HERE / "cancer-data.json").write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    print(f"wrote {HERE / 'cancer.onnx'} ({len(exported.onnx_bytes)} bytes) and {HERE / 'cancer-data.json'}")


if __name__ == "__main__":
    main()

"""Writes examples/quickstart.ipynb (run: .venv/bin/python examples/make_quickstart.py).
The notebook is kept as code here so that its cells are reviewed like code."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    new_markdown_cell(
        "# nbdeploy quickstart\n\n"
        "Train a model, export it to ONNX, validate it on fresh data, deploy it to the nbdeploy "
        "service, send it traffic and ground truth, and roll back — without leaving the notebook.\n\n"
        "Started with `make start` (or `nbdeploy lab`), this notebook already knows where the service is."
    ),
    new_code_cell(
        "import numpy as np\n"
        "import nbdeploy as nd\n"
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.model_selection import train_test_split\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n\n"
        "data = load_breast_cancer(as_frame=True)\n"
        "X_train, X_rest, y_train, y_rest = train_test_split(data.data, data.target, test_size=0.5, random_state=0, stratify=data.target)\n"
        "X_holdout, X_live, y_holdout, y_live = train_test_split(X_rest, y_rest, test_size=0.5, random_state=0, stratify=y_rest)\n"
        "model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_train, y_train)"
    ),
    new_markdown_cell("## Export\nONNX, with its signature, a training-data profile and a parity check against the native model."),
    new_code_cell(
        "art = nd.export(model, X_train, name=\"cancer\", y=y_train,\n"
        "                card={\"owner\": \"quickstart\", \"intended_use\": \"demo of nbdeploy\",\n"
        "                      \"training_data\": \"scikit-learn breast_cancer\", \"personal_data\": []})\n"
        "art, art.parity"
    ),
    new_markdown_cell("## Validate\nThe holdout runs through the exact artifact the service will serve; gates decide whether it may go to production."),
    new_code_cell(
        "report = nd.validate(art, X_holdout, y_holdout, gates={\"f1\": \">= 0.9\", \"roc_auc\": \">= 0.95\"}, slices=[\"mean radius\"])\n"
        "report"
    ),
    new_markdown_cell("## Deploy\nProduction needs the passing report above."),
    new_code_cell("dep = nd.deploy(art)\ndep"),
    new_markdown_cell("## Predict, then send ground truth when it arrives"),
    new_code_cell(
        "out = nd.predict(\"cancer\", X_live)\n"
        "print(out)\n"
        "print(\"accuracy on live traffic:\", float(np.mean(out.labels == y_live.to_numpy())))\n"
        "nd.feedback(\"cancer\", out.request_ids, y_live)"
    ),
    new_markdown_cell("## A second version, a canary, and a rollback"),
    new_code_cell(
        "challenger = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000)).fit(X_train, y_train)\n"
        "art2 = nd.export(challenger, X_train, name=\"cancer\", y=y_train, card=art.card)\n"
        "nd.validate(art2, X_holdout, y_holdout, gates={\"f1\": \">= baseline - 0.02\"})\n"
        "nd.deploy(art2, canary=20)"
    ),
    new_code_cell("nd.deploy(art2)  # promote the challenger\nnd.models()"),
    new_code_cell("nd.rollback(\"cancer\")"),
]


def main() -> None:
    notebook = new_notebook(cells=CELLS)
    for i, cell in enumerate(notebook.cells):
        cell.id = f"quickstart-{i:02d}"  # stable ids: the file only changes when its cells do
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    out = Path(__file__).resolve().parent / "quickstart.ipynb"
    nbformat.write(notebook, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

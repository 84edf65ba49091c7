"""nbdeploy's outputs draw when they are made, once per cell: `report = nd.validate(...)`
draws the report although it is not the cell's last expression, and a value drawn so is
not drawn again by IPython when it is the last expression of the same cell (only from
another cell). Run in a real kernel against a real service."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

VALIDATION = "application/vnd.nbdeploy.validation+json"
DEPLOYMENT = "application/vnd.nbdeploy.deployment+json"
MONITOR = "application/vnd.nbdeploy.monitor+json"

SETUP = """
import nbdeploy as nd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True, as_frame=True)
art = nd.export(LogisticRegression(max_iter=1000).fit(X, y), X, name="iris-shown", y=y)
"""

CELLS = {
    "assigned": 'report = nd.validate(art, X, y, gates={"accuracy": ">= 0.9"}, resamples=0)',
    "assigned then last": 'report = nd.validate(art, X, y, resamples=0)\nreport',
    "last": "nd.validate(art, X, y, resamples=0)",
    "again in another cell": "report",
    "not shown": "quiet = nd.validate(art, X, y, resamples=0, show=False)",
    "not shown, then last": "quiet",
    "deploy": "dep = nd.deploy(art)\ndep",
    "monitor": 'chart = nd.monitor("iris-shown", last="5m")',
    "monitor last": 'nd.monitor("iris-shown", last="5m")',
}


def test_outputs_draw_when_made_and_once_per_cell(service, tmp_path, monkeypatch):
    monkeypatch.setenv("NBDEPLOY_URL", service.url)
    monkeypatch.setenv("NBDEPLOY_TOKEN", service.token)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP), *(nbformat.v4.new_code_cell(code) for code in CELLS.values())])
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [out for cell in notebook.cells for out in cell.outputs if out.output_type == "error"]
    assert not errors, errors

    drawn = {
        name: [mime for out in cell.outputs for mime in out.get("data", {}) if mime.startswith("application/vnd.nbdeploy")]
        for name, cell in zip(CELLS, notebook.cells[1:])
    }
    assert drawn == {
        "assigned": [VALIDATION],
        "assigned then last": [VALIDATION],
        "last": [VALIDATION],
        "again in another cell": [VALIDATION],
        "not shown": [],
        "not shown, then last": [VALIDATION],
        "deploy": [DEPLOYMENT],
        "monitor": [MONITOR],
        "monitor last": [MONITOR],
    }
    # Each drawing carries its fallbacks, and nothing else shows up beside it (no Out[] text).
    for cell in notebook.cells[1:]:
        for out in cell.outputs:
            if out.output_type in ("display_data", "execute_result"):
                assert out.output_type == "display_data" and "text/plain" in out.data

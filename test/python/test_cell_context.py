"""Changes from a notebook carry the cell they come from: run in a real kernel the way
JupyterLab runs a cell (nbclient sends the cell id with the execute request), the notebook
API puts that id in the message's context, which the audit log records."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


def test_with_context_names_the_running_cell(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "python-bridge"), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("NBDEPLOY_NOTEBOOK", "work/churn.ipynb")
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import json\nfrom nbdeploy.registration import with_context\nprint(json.dumps(with_context({'type': 'deploy'})))")
    cell.id = "7f3c1a2e-audit"
    notebook.cells.append(cell)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(out.get("text", "") for out in notebook.cells[0].outputs if out.get("name") == "stdout")
    assert json.loads(printed) == {"type": "deploy", "context": {"notebook": "work/churn.ipynb", "cell": "7f3c1a2e-audit"}}


def test_with_context_outside_a_kernel_has_no_cell(monkeypatch):
    from nbdeploy.registration import with_context

    monkeypatch.setenv("NBDEPLOY_NOTEBOOK", "a.ipynb")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert with_context({"type": "x"}) == {"type": "x", "context": {"notebook": "a.ipynb"}}

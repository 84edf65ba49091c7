"""The quickstart notebook runs top to bottom against a real service, headless, and shows
nbdeploy's panels (with their static fallbacks)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_runs_twice_and_shows_the_panels(service, tmp_path, monkeypatch):
    """Twice in a row against the same service, as people re-run notebooks: the second run
    meets the versions the first one registered, deployed and rolled back (archived)."""
    monkeypatch.setenv("NBDEPLOY_URL", service.url)
    monkeypatch.setenv("NBDEPLOY_TOKEN", service.token)
    for run in (1, 2):
        notebook = nbformat.read(ROOT / "examples" / "quickstart.ipynb", as_version=4)
        NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
        errors = [out for cell in notebook.cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]
        assert not errors, (run, errors)
    mimes = {mime for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", []) for mime in out.get("data", {})}
    assert "application/vnd.nbdeploy.validation+json" in mimes
    assert "application/vnd.nbdeploy.deployment+json" in mimes
    assert "text/html" in mimes
    errors = [out for cell in notebook.cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, errors

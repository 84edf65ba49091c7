"""The TypeScript quickstart runs top to bottom in the tslab kernel against a real service,
headless, and shows nbdeploy's validation, deployment and monitor outputs (with their
static fallbacks) — the same MIME bundles the Python quickstart shows. The version it
registers then serves the Python bridge as well."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
MIMES = {
    "application/vnd.nbdeploy.validation+json",
    "application/vnd.nbdeploy.deployment+json",
    "application/vnd.nbdeploy.monitor+json",
}


def _bundles(notebook) -> list[dict]:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", []) if out.get("output_type") == "display_data"]


def _run():
    """Runs the quickstart in tslab and checks that no cell failed or wrote to stderr."""
    notebook = nbformat.read(EXAMPLES / "typescript-quickstart.ipynb", as_version=4)
    # The notebook's folder: tslab resolves `nbdeploy/notebook` and the data files from there.
    NotebookClient(notebook, timeout=300, kernel_name="tslab", resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    errors = [out for cell in notebook.cells for out in cell.get("outputs", []) if out.get("output_type") in ("error",) or out.get("name") == "stderr"]
    assert not errors, errors
    return notebook


def test_typescript_quickstart_runs_and_shows_the_outputs(service, monkeypatch, nd):
    try:
        spec = KernelSpecManager().get_kernel_spec("tslab")
    except NoSuchKernel:
        raise AssertionError("no tslab kernel is registered: `make setup` installs it into .venv") from None
    assert Path(spec.argv[0]).is_file(), f"the tslab kernel starts {spec.argv[0]}, which does not exist: run `make setup`"
    monkeypatch.setenv("NBDEPLOY_URL", service.url)
    monkeypatch.setenv("NBDEPLOY_TOKEN", service.token)
    notebook = _run()
    assert notebook.metadata["kernelspec"]["name"] == "tslab"
    bundles = _bundles(notebook)
    shown = {mime for b in bundles for mime in b["data"]}
    assert MIMES <= shown, shown
    for bundle in bundles:
        # one display_data per output, with its fallbacks beside the nbdeploy payload: HTML for
        # reports and deployments, the chart as SVG for the monitor
        fallback = "image/svg+xml" if "application/vnd.nbdeploy.monitor+json" in bundle["data"] else "text/html"
        assert {"text/plain", fallback} <= set(bundle["data"]), bundle["data"].keys()

    report = next(b["data"]["application/vnd.nbdeploy.validation+json"] for b in bundles if "application/vnd.nbdeploy.validation+json" in b["data"])
    assert report["model"] == "cancer-ts" and report["passed"] is True
    assert [g["status"] for g in report["gates"]] == ["pass", "pass"]
    assert report["metrics"]["f1"] > 0.9 and report["intervals"]["f1"][0] <= report["metrics"]["f1"] <= report["intervals"]["f1"][1]
    assert report["details"]["confusion_matrix"]["labels"] == ["0", "1"]
    assert sum(map(sum, report["details"]["confusion_matrix"]["matrix"])) == report["rows"] == 142
    deployment = next(b["data"]["application/vnd.nbdeploy.deployment+json"] for b in bundles if "application/vnd.nbdeploy.deployment+json" in b["data"])
    assert deployment["stage"] == "production" and deployment["endpoint"].endswith("/v2/models/cancer-ts/infer")
    shown_monitor = next(b["data"] for b in bundles if "application/vnd.nbdeploy.monitor+json" in b["data"])
    monitor = shown_monitor["application/vnd.nbdeploy.monitor+json"]
    assert monitor["model"] == "cancer-ts" and monitor["spec"] and monitor["series"]["ops"]
    # The status of the span is the reply's (the MonitorChart's `status`), not the output's.
    assert "status" not in monitor
    assert sum(o["rows"] for o in monitor["series"]["ops"]) == 143  # the live rows; validation traffic is kept out of monitoring
    assert sum(p["labelled"] for p in monitor["series"]["performance"]) == 143
    text = "".join(shown_monitor["text/plain"])
    assert ", 143 rows," in text and "(143 labelled rows)" in text

    # The version registered from TypeScript is a version like any other for the Python bridge.
    data = json.loads((EXAMPLES / "cancer-data.json").read_text())
    out = nd.predict("cancer-ts", data["live"]["rows"][:5])
    assert set(out.labels.tolist()) <= {0, 1} and len(out.request_ids) == 5
    assert out.scores.shape == (5, 2) and abs(out.scores.sum(axis=1) - 1).max() < 1e-5
    # ... and Python's validation of that version measures what TypeScript's did.
    art = nd.export(str(EXAMPLES / "cancer.onnx"), np.asarray(data["train"]["rows"]), name="cancer-ts")
    python_report = nd.validate(art, np.asarray(data["holdout"]["rows"]), np.asarray(data["holdout"]["labels"]), resamples=0)
    assert art.version == report["version"]
    assert python_report.metrics.keys() == report["metrics"].keys()
    for name, value in python_report.metrics.items():
        assert abs(value - report["metrics"][name]) < 1e-9, name
    assert python_report.details["confusion_matrix"] == report["details"]["confusion_matrix"]

    # Run again against the same service, as people re-run notebooks: the versions exist now.
    _run()

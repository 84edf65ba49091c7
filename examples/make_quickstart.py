"""Writes examples/quickstart.ipynb (run: .venv/bin/python examples/make_quickstart.py).
The notebook is kept as code here so that its cells are reviewed like code."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    new_markdown_cell(
        "# nbdeploy quickstart\n\n"
        "Train a model, export it to ONNX, validate it on fresh data, deploy it to the nbdeploy "
        "service, watch it serve live traffic — drift, an alert, ground truth arriving late — find "
        "the cause with one click, replay a challenger on the real traffic before its canary, and "
        "roll back, without leaving the notebook.\n\n"
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
    new_markdown_cell(
        "## Capture\n"
        "The deployment keeps a sample of the requests it serves — inputs and answers — for a week: "
        "what `nd.inspect` looks at when something drifts, and what a challenger is replayed on. "
        "(The Models panel's *Capture…* button sets the same.)"
    ),
    new_code_cell("nd.capture(\"cancer\", rate=0.2, retention_days=7)"),
    new_markdown_cell(
        "## Live traffic\n"
        "An application calls the model from now on: a background thread sends a few rows every "
        "fifth of a second, and keeps each request id with its true label, which in real life "
        "arrives much later."
    ),
    new_code_cell(
        "import threading\n"
        "import time\n\n"
        "stop, drifting = threading.Event(), threading.Event()\n"
        "served = []  # (request ids, true labels): the ground truth we will send later\n\n"
        "def send_traffic():\n"
        "    rng = np.random.default_rng(0)\n"
        "    while not stop.is_set():\n"
        "        rows = X_live.sample(25, replace=True, random_state=int(rng.integers(2**31)))\n"
        "        if drifting.is_set():\n"
        "            # A new imaging device upstream: every mean and worst-case measurement reads 40% higher.\n"
        "            rows = rows.assign(**{c: rows[c] * 1.4 for c in rows.columns if not c.endswith(\"error\")})\n"
        "        out = nd.predict(\"cancer\", rows)\n"
        "        served.append((out.request_ids, y_live.loc[rows.index].to_numpy()))\n"
        "        time.sleep(0.2)\n\n"
        "traffic = threading.Thread(target=send_traffic, daemon=True)\n"
        "traffic.start()"
    ),
    new_markdown_cell(
        "## Watch it\n"
        "The chart follows the deployment live: traffic and errors, latency, drift per feature, "
        "data integrity, performance once ground truth arrives, and alerts. Saved, the notebook "
        "keeps the last snapshot."
    ),
    new_code_cell("nd.monitor(\"cancer\", last=\"5m\")"),
    new_markdown_cell(
        "## Something changes upstream\n"
        "The inputs drift. The service compares every feature with the training profile and "
        "raises the default `drift` alert (more than half the features drifted) — in the "
        "chart, in JupyterLab's notifications and in the Models panel."
    ),
    new_code_cell(
        "nd.alert_rules(\"cancer\")[\"rules\"]  # the defaults; nd.alert_rules(name, rules=[...]) sets your own"
    ),
    new_code_cell(
        "time.sleep(10)  # ten seconds of normal traffic first: the chart's baseline\n"
        "drifting.set()\n"
        "deadline = time.time() + 120\n"
        "while not nd.alerts(\"cancer\", state=\"firing\") and time.time() < deadline:\n"
        "    time.sleep(1)\n"
        "[alert[\"message\"] for alert in nd.alerts(\"cancer\", state=\"firing\")]"
    ),
    new_markdown_cell(
        "## From the chart to the cause\n"
        "Click a red cell of the drift heat map in the chart above: nbdeploy inserts and runs "
        "`nd.inspect(...)` below the chart for that feature and minute — the captured rows of that "
        "window against the training profile, and the integrity events of the window. A bar of "
        "the integrity panel does the same for every feature.\n\n"
        "Reading top to bottom? The next cell inspects the feature that moved most over the last five minutes."
    ),
    new_code_cell(
        "drift = nd.status(\"cancer\", last=\"5m\")[\"drift\"]\n"
        "moved_most = max(drift, key=lambda feature: drift[feature][\"statistic\"])\n"
        "nd.inspect(\"cancer\", feature=moved_most, last=\"5m\")"
    ),
    new_markdown_cell(
        "## Ground truth arrives\n"
        "The labels of the requests served so far come back; the service joins them to its "
        "predictions by request id and measures the model as it serves — on drifted data."
    ),
    new_code_cell(
        "ids = [i for batch, _ in served for i in batch]\n"
        "truth = np.concatenate([labels for _, labels in served])\n"
        "nd.feedback(\"cancer\", ids, truth)\n"
        "{k: v for k, v in nd.status(\"cancer\", last=\"5m\")[\"performance\"].items() if v is not None}"
    ),
    new_code_cell("stop.set()\ntraffic.join()\nnd.status(\"cancer\", last=\"5m\")[\"ops\"]"),
    new_markdown_cell("## A second version, a replay, a canary, and a rollback"),
    new_code_cell(
        "challenger = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000)).fit(X_train, y_train)\n"
        "art2 = nd.export(challenger, X_train, name=\"cancer\", y=y_train, card=art.card)\n"
        "nd.validate(art2, X_holdout, y_holdout, gates={\"f1\": \">= baseline - 0.02\"})"
    ),
    new_markdown_cell(
        "Before the challenger takes any traffic: what would it have answered on the real traffic — "
        "drift included? `nd.replay` runs the requests the deployment captured through the "
        "challenger's version inside the service and compares its answers with those served: agreement, the "
        "predictions that changed, the metrics where ground truth arrived, latency side by side."
    ),
    new_code_cell("nd.replay(\"cancer\", art2.version, last=\"10m\")"),
    new_code_cell("nd.deploy(art2, canary=20)"),
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

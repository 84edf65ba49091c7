"""Writes examples/typescript-quickstart.ipynb (run: .venv/bin/python examples/make_typescript_quickstart.py).
The notebook is kept as code here so that its cells are reviewed like code. It runs in the
tslab kernel (`make setup` registers it) and uses examples/cancer.onnx and
examples/cancer-data.json, which examples/make_cancer_model.py writes."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    new_markdown_cell(
        "# nbdeploy quickstart in TypeScript\n\n"
        "The same workflow as the Python quickstart, from a TypeScript notebook (tslab): register an ONNX "
        "model, validate it on fresh data, deploy it to the nbdeploy service, send it traffic and ground "
        "truth, and watch its monitoring.\n\n"
        "The model, `cancer.onnx`, is a scikit-learn pipeline trained on scikit-learn's breast-cancer data "
        "(`make_cancer_model.py` in this folder made it, with the rows in `cancer-data.json`). "
        "Started with `make start` (or `nbdeploy lab`), this notebook already knows where the service is."
    ),
    new_code_cell(
        'import * as nd from "nbdeploy/notebook";\n'
        'import { readFileSync } from "fs";\n\n'
        "interface Split { rows: number[][]; labels: number[] }\n"
        "interface CancerData { feature_names: string[]; train: Split; holdout: Split; live: Split }\n\n"
        'const data: CancerData = JSON.parse(readFileSync("cancer-data.json", "utf8"));\n'
        "// rows as records, keyed by feature name (arrays of values in feature order work too)\n"
        "const trainRecords = data.train.rows.map((row) => Object.fromEntries(data.feature_names.map((name, i) => [name, row[i]])));\n"
        "console.log(`${data.train.rows.length} training rows, ${data.holdout.rows.length} holdout rows, ${data.live.rows.length} live rows`);"
    ),
    new_markdown_cell(
        "## Register\n"
        "The signature (inputs, task, classes) is read from the ONNX file; the training rows give the "
        "profile that drift is measured against, and with their labels the training metrics."
    ),
    new_code_cell(
        'const art = await nd.register("cancer.onnx", {\n'
        '  name: "cancer-ts",\n'
        "  sample: trainRecords,\n"
        "  labels: data.train.labels,\n"
        '  card: { owner: "quickstart", intended_use: "demo of nbdeploy", training_data: "scikit-learn breast_cancer", personal_data: [] },\n'
        "});\n"
        "console.log(`version ${art.version}: ${art.signature.task}, classes ${JSON.stringify(art.signature.classes)}, training f1 ${art.training_metrics.f1?.toFixed(4)}`);"
    ),
    new_markdown_cell("## Validate\nThe holdout runs through the exact version the service will serve; gates decide whether it may go to production."),
    new_code_cell(
        "const report = await nd.validate(art, data.holdout.rows, data.holdout.labels, {\n"
        '  gates: { f1: ">= 0.9", roc_auc: ">= 0.95" },\n'
        '  slices: ["mean radius"],\n'
        "});"
    ),
    new_markdown_cell("## Deploy\nProduction needs the passing report above."),
    new_code_cell("const deployment = await nd.deploy(art);"),
    new_markdown_cell("## Predict, then send ground truth when it arrives"),
    new_code_cell(
        'const out = await nd.predict("cancer-ts", data.live.rows);\n'
        "const correct = out.labels!.filter((label, i) => label === data.live.labels[i]).length;\n"
        "console.log(`accuracy on live traffic: ${(correct / out.labels!.length).toFixed(4)}`);\n"
        'const recorded = await nd.feedback("cancer-ts", out.request_ids, data.live.labels);\n'
        "console.log(`${recorded} ground-truth labels recorded`);"
    ),
    new_markdown_cell("## Monitor\nOperations, drift from the training profile, and performance from the ground truth, as the service sees them now."),
    new_code_cell('const now = await nd.monitor("cancer-ts");'),
    new_code_cell("(await nd.models()).filter((row) => row.model === \"cancer-ts\")"),
]


def main() -> None:
    notebook = new_notebook(cells=CELLS)
    for i, cell in enumerate(notebook.cells):
        cell.id = f"ts-quickstart-{i:02d}"  # stable ids: the file only changes when its cells do
    notebook.metadata["kernelspec"] = {"name": "tslab", "display_name": "TypeScript", "language": "typescript"}
    notebook.metadata["language_info"] = {"name": "typescript", "file_extension": ".ts", "mimetype": "text/typescript"}
    out = Path(__file__).resolve().parent / "typescript-quickstart.ipynb"
    nbformat.write(notebook, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

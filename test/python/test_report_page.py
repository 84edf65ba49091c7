"""A validation report as a file: `report.save_html(path)` against a real service, the page
opened in headless Chromium with the network off (test/support/report-page-browser.js,
through playwright-core), with light, dark and print screenshots in test/output/."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# not imported from conftest: exporters/conftest.py shadows it when the whole suite runs
ROOT = Path(__file__).resolve().parents[2]
#: text that would run as markup if it reached the page unescaped
HOSTILE = '<script>document.title="pwned"</script>'
BROWSER = ROOT / "test" / "support" / "report-page-browser.js"


def read_page(file, screenshot_prefix=None) -> dict:
    """What headless Chromium shows of the page, offline (the JSON of readReportPage)."""
    args = ["node", str(BROWSER), str(file)] + ([str(screenshot_prefix)] if screenshot_prefix else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def cancer():
    data = load_breast_cancer(as_frame=True)
    return train_test_split(data.data, data.target, test_size=0.3, random_state=0, stratify=data.target)


def test_save_html_writes_the_report_with_production_comparison_reviews_and_charts(nd, service, cancer, tmp_path):
    from nbdeploy._connection import ConnectionInfo
    from nbdeploy._session import client
    from nbdeploy.client import ServiceClient

    X_train, X_test, y_train, y_test = cancer
    first = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_train, y_train)
    art1 = nd.export(first, X_train, name="page", y=y_train)
    nd.validate(art1, X_test, y_test, show=False)
    nd.deploy(art1, show=False)
    second = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=2000)).fit(X_train, y_train)
    card = {"owner": HOSTILE, "intended_use": "second reader", "training_data": "UCI", "personal_data": []}
    art2 = nd.export(second, X_train, name="page", y=y_train, card=card)
    report = nd.validate(
        art2, X_test, y_test, gates={"f1": ">= 0.9", "accuracy": ">= 0.999"}, slices={HOSTILE: (X_test["mean radius"] > 14).to_numpy()}, show=False
    )
    assert report.baseline_version == art1.version and not report.passed
    # Another person reviews (nobody reviews their own version): a reviewer with a token of their own.
    added = subprocess.run(
        ["node", str(ROOT / "bin" / "nbdeploy.js"), "users", "add", "rui", "--role", "reviewer", "--state-dir", str(service.state_dir)],
        capture_output=True, text=True, check=True,
    )
    reviewer = ServiceClient(ConnectionInfo(client().info.url, added.stdout.strip(), "nbdeploy users add"))
    try:
        reviewer.call("review", model="page", version=art2.version, decision="request_changes", comment=f"{HOSTILE} & <b>why</b>")
    finally:
        reviewer.close()

    written = report.save_html(tmp_path / "report.html")
    assert written == (tmp_path / "report.html").resolve()
    html = written.read_text(encoding="utf-8")
    assert "<script" not in html
    page = read_page(written, ROOT / "test" / "output" / "report-page-python")

    assert page["requests"] == [] and page["errors"] == [] and page["scripts"] == 0 and page["references"] == []
    assert page["title"] == f"Validation of page version {art2.version} — failed"
    assert page["verdict"].lower().endswith("failed")
    assert f"compared with production v{art1.version}" in page["header"]
    f1 = report.metrics["f1"]
    assert any(row.startswith(f"f1 | {f1:.4f} | ") and row.endswith(f"{report.baseline['f1']:.4f}") for row in page["metrics"]), page["metrics"]
    accuracy = report.metrics["accuracy"]
    assert f"accuracy >= 0.999 | {accuracy:.4f} | 0.9990 | ✗ fail | accuracy = {accuracy:.4f} misses >= 0.999" in page["gates"]
    assert page["svgs"] == 1
    # Written as text, run nowhere (the title would say "pwned").
    assert HOSTILE in page["text"]
    assert len(page["reviews"]) == 1 and page["reviews"][0].startswith("✗ Changes requested by rui")
    assert f"{HOSTILE} & <b>why</b>" in page["reviews"][0]
    for section in ("Slices", "Data checks", "Governance checklist", "Reviews", "Charts"):
        assert section in page["text"]
    assert page["darkBackground"] != page["background"]
    assert [s.rsplit("-", 1)[1] for s in page["screenshots"]] == ["light.png", "dark.png", "print.png"]


def test_save_html_refuses_a_missing_folder_and_a_report_not_stored(nd, cancer, tmp_path):
    from nbdeploy.errors import NbdeployError, ServiceError

    X_train, X_test, y_train, y_test = cancer
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_train, y_train)
    report = nd.validate(nd.export(model, X_train, name="page-refusals", y=y_train), X_test, y_test, resamples=0, show=False)

    missing = tmp_path / "no-such-folder" / "report.html"
    with pytest.raises(FileNotFoundError, match=r"cannot write .*: the folder .*no-such-folder does not exist"):
        report.save_html(missing)
    assert not missing.parent.exists()

    stored_id = report.id
    report.id = None
    with pytest.raises(NbdeployError, match=r"is not stored in the service \(it has no id\)"):
        report.save_html(tmp_path / "x.html")
    report.id = stored_id + 1000
    with pytest.raises(ServiceError) as refused:
        report.save_html(tmp_path / "x.html")
    assert refused.value.code == "NBD_ERR_VALIDATION_NOT_FOUND"
    assert not (tmp_path / "x.html").exists()

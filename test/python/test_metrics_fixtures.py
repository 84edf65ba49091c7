"""The committed metrics fixtures (test/fixtures/metrics/metrics-cases.json) are what
make_metrics_fixtures.py produces with the pinned scikit-learn, so the service's validation
metrics (kernel-service/test/validation/metrics.test.ts) are compared with scikit-learn's
real answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metrics"


def test_committed_metrics_fixtures_are_current(tmp_path):
    fresh = tmp_path / "metrics-cases.json"
    subprocess.run([sys.executable, str(FIXTURES / "make_metrics_fixtures.py"), str(fresh)], check=True, capture_output=True)
    assert json.loads(fresh.read_text()) == json.loads((FIXTURES / "metrics-cases.json").read_text())

"""The committed drift fixtures (test/fixtures/drift/drift-cases.json) are what
test/fixtures/drift/make_drift_fixtures.py produces with the pinned numpy and scipy, so the
TypeScript drift statistics are compared with SciPy's real answers, not with stale ones."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy

DRIFT = Path(__file__).resolve().parents[1] / "fixtures" / "drift"
COMMITTED = DRIFT / "drift-cases.json"

# A different BLAS kernel (np.dot in wasserstein_distance) may change the last bit or two.
FLOAT_RTOL = 1e-14

KS_BRANCHES = {
    "exact-no-difference", "exact-square", "exact-inside", "asymp-ruben-gambino-low-product",
    "asymp-ruben-gambino-low-stirling", "asymp-ruben-gambino-high", "asymp-smirnov-x-half",
    "asymp-dmtw-small-n", "asymp-pomeranz", "asymp-smirnov-small-n", "asymp-zero-tail",
    "asymp-smirnov", "asymp-dmtw", "asymp-pelz-good", "asymp-support-below", "asymp-support-above",
}
KSTWO_BRANCHES = {
    "support-below", "support-above", "ruben-gambino-low-product", "ruben-gambino-low-stirling",
    "ruben-gambino-high", "smirnov-x-half", "dmtw-small-n", "pomeranz", "smirnov-small-n",
    "zero-tail", "smirnov", "smirnov-large-n", "dmtw", "pelz-good",
}


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(COMMITTED.read_text())


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("drift") / "drift-cases.json"
    subprocess.run([sys.executable, str(DRIFT / "make_drift_fixtures.py"), str(out)], check=True)
    return json.loads(out.read_text())


def assert_same(a, b, where: str = "") -> None:
    assert type(a) is type(b) or {type(a), type(b)} == {int, float}, f"{where}: {a!r} vs {b!r}"
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert math.isclose(a, b, rel_tol=FLOAT_RTOL, abs_tol=0.0), f"{where}: {a!r} vs {b!r}"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def test_fixtures_were_made_with_the_pinned_numpy_and_scipy(committed: dict) -> None:
    assert committed["versions"] == {"numpy": np.__version__, "scipy": scipy.__version__}, (
        "regenerate with: .venv/bin/python test/fixtures/drift/make_drift_fixtures.py"
    )


def test_rebuilding_gives_the_committed_fixtures(committed: dict, rebuilt: dict) -> None:
    assert_same(committed, rebuilt)


def test_fixtures_cover_every_branch_of_scipys_ks_p_value(committed: dict) -> None:
    assert {c["branch"] for c in committed["ks2samp"]} == KS_BRANCHES
    assert {c["branch"] for c in committed["kstwo"]} == KSTWO_BRANCHES


def test_fixtures_stay_commit_sized() -> None:
    assert COMMITTED.stat().st_size < 300_000

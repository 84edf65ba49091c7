"""Fixtures for the exporter tests (the bundled datasets, and mixed frames built from
them) and a terminal summary of the worst parity differences measured per family."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

# nbdeploy.exporters from the source tree
BRIDGE = Path(__file__).resolve().parents[3] / "python-bridge"
if str(BRIDGE) not in sys.path:
    sys.path.insert(0, str(BRIDGE))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # exporter_checks

from exporter_checks import WORST, with_strings_and_gaps  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    if not WORST:
        return
    terminalreporter.section("exporter parity: worst differences per family")
    for family, w in sorted(WORST.items()):
        terminalreporter.write_line(
            f"{family:<42} rows {w['rows']:>6}  scores |d| {w['score_abs']:.2e}  values rel {w['value_rel']:.2e}  label mismatches {w['label_mismatches']}"
        )


# -- data ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def breast_cancer():
    return load_breast_cancer(return_X_y=True, as_frame=True)


@pytest.fixture(scope="session")
def wine():
    return load_wine(return_X_y=True, as_frame=True)


@pytest.fixture(scope="session")
def iris():
    return load_iris(return_X_y=True, as_frame=True)


@pytest.fixture(scope="session")
def diabetes():
    return load_diabetes(return_X_y=True, as_frame=True)


@pytest.fixture(scope="session")
def wine_mixed(wine):
    X, y = wine
    return with_strings_and_gaps(X, "alcohol", "color_intensity"), y


@pytest.fixture(scope="session")
def diabetes_mixed():
    # the unscaled data: decimals as in a CSV (age 59, bmi 32.1), as notebooks mostly get them
    X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    X = X.copy()
    X["sex"] = np.where(X["sex"] > 1.5, "F", "M").astype(object)
    return with_strings_and_gaps(X, "age", "s5"), y

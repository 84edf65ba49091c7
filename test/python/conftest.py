"""Fixtures for the Python tests: a real `nbdeploy serve` process per test module, on a
free port with its own state dir, stopped by its pid."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python-bridge"))


class RunningService:
    def __init__(self, state_dir: Path, extra: list[str]) -> None:
        self.state_dir = state_dir
        self.process = subprocess.Popen(
            ["node", str(ROOT / "bin" / "nbdeploy.js"), "serve", "--port", "0", "--state-dir", str(state_dir), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"nbdeploy serve did not start: {line!r} {self.process.stderr.read()}")
        self.url = match.group(1)
        # With --grpc-port: "listening on http://… (gRPC on host:port)"
        grpc_match = re.search(r"\(gRPC on (\S+)\)", line)
        self.grpc_address = grpc_match.group(1) if grpc_match else None
        self.token = (state_dir / "token").read_text().strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    running = RunningService(tmp_path_factory.mktemp("nbdeploy-state"), [])
    yield running
    running.stop()


@pytest.fixture(scope="module")
def start_service(tmp_path_factory):
    """Starts services with extra `serve` arguments (e.g. "--grpc-port", "0"); stops them after the module."""
    started: list[RunningService] = []

    def start(*extra: str) -> RunningService:
        running = RunningService(tmp_path_factory.mktemp("nbdeploy-state"), list(extra))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture()
def nd(service, monkeypatch):
    """The notebook API connected to this module's service."""
    import nbdeploy

    monkeypatch.setenv("NBDEPLOY_URL", service.url)
    monkeypatch.setenv("NBDEPLOY_TOKEN", service.token)
    nbdeploy.connect(service.url, service.token)
    return nbdeploy

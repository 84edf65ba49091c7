"""The Jupyter server extension: it starts (or attaches to) the service, and proxies HTTP
and WebSocket under Jupyter's authentication, naming the Jupyter user for the audit log."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

JUPYTER_TOKEN = "jupyter-test-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class JupyterServer:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "jupyter.log"
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={self.port}", "--ip=127.0.0.1",
                f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={JUPYTER_TOKEN}",
                "--ServerApp.jpserver_extensions={'nbdeploy': True}", "--allow-root",
            ],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={JUPYTER_TOKEN}", timeout=1)
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter server did not start:\n{self.log.read_text()}")

    def get(self, path: str, token: str | None = JUPYTER_TOKEN) -> tuple[int, dict]:
        """GET without following redirects (Jupyter sends the unauthenticated to its login page)."""
        headers = {"Authorization": f"token {token}"} if token else {}
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(urllib.request.Request(f"{self.url}{path}", headers=headers), timeout=10) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, {}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def test_proxies_http_and_websocket_for_the_jupyter_user(service, tmp_path):
    lab = JupyterServer(tmp_path, {"NBDEPLOY_URL": service.url, "NBDEPLOY_TOKEN": service.token})
    try:
        status, body = lab.get("/nbdeploy/v2")
        assert status == 200 and body["name"] == "nbdeploy"
        assert lab.get("/nbdeploy/v2", token=None)[0] in (302, 401, 403)
        assert lab.get("/nbdeploy/v2", token="wrong")[0] in (302, 401, 403)
        with connect(f"ws://127.0.0.1:{lab.port}/nbdeploy/ws?token={JUPYTER_TOKEN}") as ws:
            welcome = json.loads(ws.recv(timeout=10))
            # Jupyter's anonymous user of a token-protected server, by name (not its random hex id)
            assert welcome["type"] == "welcome" and welcome["user"].startswith("Anonymous ")
            ws.send(json.dumps({"type": "list", "id": 1}))
            assert json.loads(ws.recv(timeout=10))["type"] == "models"
    finally:
        lab.stop()


def test_starts_a_service_when_none_is_running(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBDEPLOY_")}
    env["NBDEPLOY_URL"] = ""
    lab = JupyterServer(tmp_path, {**env, "NBDEPLOY_STATE_DIR": str(tmp_path / "state")})
    try:
        status, body = lab.get("/nbdeploy/v2")
        assert status == 200 and body["name"] == "nbdeploy"
        assert (tmp_path / "state" / "token").exists()
        started = re.search(r"started the service at (\S+)", lab.log.read_text())
        assert started, lab.log.read_text()
        service_url = started.group(1)
    finally:
        lab.stop()
    # the extension stops what it started
    with pytest.raises((urllib.error.URLError, OSError)):
        urllib.request.urlopen(f"{service_url}/v2/health/live", timeout=2)


def test_names_the_jupyter_user_as_people_read_it():
    from types import SimpleNamespace
    from urllib.parse import unquote

    from nbdeploy.server_extension import _header_value, _user

    def named(**user):
        return _user(SimpleNamespace(current_user=SimpleNamespace(**user)))

    assert named(username="ana", name="Ana Silva", display_name="Ana Silva") == "Ana Silva (ana)"
    assert named(username="ana", name="ana", display_name="ana") == "ana"
    # Jupyter's anonymous user: its name, not its random id
    assert named(username="71aa60ef11bd43afb49c37313dac28a5", name="Anonymous Callisto", display_name="Anonymous Callisto") == "Anonymous Callisto"
    assert named(username="jose", name="", display_name="") == "jose"
    value = _header_value("José Núñez (jose)")
    assert value.isascii() and unquote(value) == "José Núñez (jose)"

"""The Jupyter server extension: it starts (or attaches to) the service, gives each Jupyter
user their own service token — in the environment of the kernels they start, and on the
HTTP and WebSocket proxy — so that the audit log names the person, the notebook and the cell."""

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
import uuid
from http.cookiejar import CookieJar
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
    def __init__(self, root: Path, env: dict[str, str], *options: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "jupyter.log"
        # One browser: Jupyter's login cookie keeps its anonymous user the same across requests.
        self.cookies = CookieJar()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={self.port}", "--ip=127.0.0.1",
                f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={JUPYTER_TOKEN}",
                "--ServerApp.jpserver_extensions={'nbdeploy': True}", "--allow-root", *options,
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
        return self.send("GET", path, token=token)

    def send(self, method: str, path: str, body: dict | None = None, token: str | None = JUPYTER_TOKEN) -> tuple[int, dict]:
        headers = {"Authorization": f"token {token}"} if token else {}
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            headers["Content-Type"] = "application/json"
        # with the token, as this server's browser (its cookie); without, as a stranger
        handlers = [NoRedirect, urllib.request.HTTPCookieProcessor(self.cookies)] if token == JUPYTER_TOKEN else [NoRedirect]
        opener = urllib.request.build_opener(*handlers)
        try:
            request = urllib.request.Request(f"{self.url}{path}", data=data, headers=headers, method=method)
            with opener.open(request, timeout=60) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}") if error.headers.get("Content-Type", "").startswith("application/json") else {}

    def ws(self, path: str):
        """A WebSocket to the server as the same browser (its cookie, the token)."""
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        return connect(f"ws://127.0.0.1:{self.port}{path}?token={JUPYTER_TOKEN}", additional_headers={"Cookie": cookie}, max_size=None)

    def me(self) -> dict:
        status, body = self.get("/api/me")
        assert status == 200, body
        return body["identity"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_cell(lab: JupyterServer, kernel_id: str, code: str, cell_id: str) -> str:
    """Runs code in the kernel as JupyterLab does (an execute_request over the kernel's
    channels, the cell's id in its metadata); returns the printed output."""
    msg_id = uuid.uuid4().hex
    request = {
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "", "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
        "parent_header": {},
        "metadata": {"cellId": cell_id},
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        "channel": "shell",
        "buffers": [],
    }
    printed, errors = [], []
    with lab.ws(f"/api/kernels/{kernel_id}/channels") as ws:
        ws.send(json.dumps(request))
        while True:
            message = json.loads(ws.recv(timeout=180))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["header"]["msg_type"]
            if kind == "stream":
                printed.append(message["content"]["text"])
            elif kind == "error":
                errors.append("\n".join(message["content"]["traceback"]))
            elif kind == "execute_reply":
                assert message["content"]["status"] == "ok", "".join(printed) + "\n".join(errors)
                return "".join(printed)


def audit_entries(service, model: str) -> list[dict]:
    with connect(service.url.replace("http", "ws") + "/ws", additional_headers={"Authorization": f"Bearer {service.token}"}) as ws:
        ws.recv(timeout=10)
        ws.send(json.dumps({"type": "audit", "id": 1, "model": model}))
        return json.loads(ws.recv(timeout=10))["entries"]


KERNEL_CELL = """
import os
import nbdeploy as nd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

X, y = load_iris(return_X_y=True, as_frame=True)
art = nd.export(LogisticRegression(max_iter=500).fit(X, y), X, name="kernel-made", y=y)
nd.deploy(art, stage="staging", show=False)
print(os.environ["NBDEPLOY_TOKEN"] == {admin!r}, nd.connect().welcome["user"], sep="|")
"""


def test_a_kernel_started_by_a_user_acts_as_that_user(start_service, tmp_path):
    # A service of its own: this test revokes its Jupyter user, whose moon name another test's
    # anonymous user could draw on a shared service.
    service = start_service()
    lab = JupyterServer(tmp_path, {"NBDEPLOY_URL": service.url, "NBDEPLOY_TOKEN": service.token})
    try:
        me = lab.me()  # Jupyter's anonymous user of this browser (a token-protected server)
        person = me["name"]
        (tmp_path / "work").mkdir()
        status, session = lab.send("POST", "/api/sessions", {"path": "work/churn.ipynb", "type": "notebook", "name": "churn.ipynb", "kernel": {"name": "python3"}})
        assert status == 201, session
        cell = "5d4c8f3e-0a1b-4c2d-9e8f-7a6b5c4d3e2f"
        printed = run_cell(lab, session["kernel"]["id"], KERNEL_CELL.format(admin=service.token), cell)
        # the kernel has the person's own token, not the admin's, and the service knows it as them
        assert printed.strip().split("|") == ["False", person]
        entries = audit_entries(service, "kernel-made")
        assert entries, "the service recorded nothing"
        # the notebook as Jupyter names it to kernels (JPY_SESSION_NAME: its path on disk)
        notebook = str(tmp_path / "work" / "churn.ipynb")
        for entry in entries:
            assert (entry["actor"], entry["notebook"], entry["cell"]) == (person, notebook, cell), entry
        assert {e["action"] for e in entries} >= {"register", "stage"}

        # the sidebar's proxy goes as the same person, with their token (a deployer's: the
        # admin-only users route refuses it, where the admin token would make a token)
        with lab.ws("/nbdeploy/ws") as ws:
            assert json.loads(ws.recv(timeout=10))["user"] == person
        status, body = lab.send("POST", "/nbdeploy/v2/nbdeploy/users/mallory/tokens", {})
        assert status == 403, body

        # once their nbdeploy user is revoked, the proxy says so (and makes them no new token)
        revoke = subprocess.run(["node", str(Path(__file__).resolve().parents[2] / "bin" / "nbdeploy.js"), "users", "revoke", person, "--state-dir", str(service.state_dir)], capture_output=True, text=True)
        assert revoke.returncode == 0, revoke.stderr
        assert lab.get("/nbdeploy/v2")[0] == 401  # the token it holds no longer works: it is dropped
        status, body = lab.get("/nbdeploy/v2")  # asking for a new one is refused
        assert status == 403, body
    finally:
        lab.stop()


def test_a_typescript_kernel_records_the_cell_too(service, tmp_path):
    """tslab gives the code it runs no request metadata: nbdeploy/notebook follows tslab's
    requests for their cell ids, from the cell after the one that imports it."""
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "nbdeploy").symlink_to(root)  # as `make tslab` links it in the repository
    lab = JupyterServer(tmp_path, {"NBDEPLOY_URL": service.url, "NBDEPLOY_TOKEN": service.token})
    try:
        person = lab.me()["name"]
        status, session = lab.send("POST", "/api/sessions", {"path": "churn-ts.ipynb", "type": "notebook", "name": "churn-ts.ipynb", "kernel": {"name": "tslab"}})
        assert status == 201, session
        kernel = session["kernel"]["id"]
        run_cell(lab, kernel, 'import * as nd from "nbdeploy/notebook";\nimport { readFileSync } from "fs";', "ts-import-cell")
        onnx = root / "examples" / "cancer.onnx"
        run_cell(
            lab,
            kernel,
            f'const art = await nd.register(readFileSync({str(onnx)!r}), {{ name: "ts-kernel-made" }});\n'
            'await nd.deploy(art, { stage: "staging", display: false });',
            "ts-deploy-cell",
        )
        entries = audit_entries(service, "ts-kernel-made")
        assert {e["action"] for e in entries} >= {"register", "stage"}
        notebook = str(tmp_path / "churn-ts.ipynb")
        for entry in entries:
            assert (entry["actor"], entry["notebook"], entry["cell"]) == (person, notebook, "ts-deploy-cell"), entry
    finally:
        lab.stop()


def test_proxies_http_and_websocket_for_the_jupyter_user(start_service, tmp_path):
    # new Jupyter users get the role configured for them. A service of its own: Jupyter names
    # its anonymous users after a few dozen moons, and the other tests' users (one of them
    # revoked) would otherwise be this one's now and then.
    service = start_service()
    lab = JupyterServer(tmp_path, {"NBDEPLOY_URL": service.url, "NBDEPLOY_TOKEN": service.token}, "--Nbdeploy.user_role=viewer")
    try:
        status, body = lab.get("/nbdeploy/v2")
        assert status == 200 and body["name"] == "nbdeploy"
        assert lab.get("/nbdeploy/v2", token=None)[0] in (302, 401, 403)
        assert lab.get("/nbdeploy/v2", token="wrong")[0] in (302, 401, 403)
        # the same browser (its cookie): the same Jupyter user as the requests above
        with lab.ws("/nbdeploy/ws") as ws:
            welcome = json.loads(ws.recv(timeout=10))
            # Jupyter's anonymous user of a token-protected server, by name (not its random hex id)
            assert welcome["type"] == "welcome" and welcome["user"].startswith("Anonymous ")
            assert welcome["role"] == "viewer"
            ws.send(json.dumps({"type": "list", "id": 1}))
            assert json.loads(ws.recv(timeout=10))["type"] == "models"
            ws.send(json.dumps({"type": "rollback", "id": 2, "model": "anything"}))
            assert json.loads(ws.recv(timeout=10))["code"] == "NBD_ERR_FORBIDDEN"
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

    from nbdeploy.jupyter_users import header_value, readable_name, service_user_name

    def named(**user):
        return readable_name(SimpleNamespace(**user))

    assert named(username="ana", name="Ana Silva", display_name="Ana Silva") == "Ana Silva (ana)"
    assert named(username="ana", name="ana", display_name="ana") == "ana"
    # Jupyter's anonymous user: its name, not its random id
    assert named(username="71aa60ef11bd43afb49c37313dac28a5", name="Anonymous Callisto", display_name="Anonymous Callisto") == "Anonymous Callisto"
    assert named(username="jose", name="", display_name="") == "jose"
    value = header_value("José Núñez (jose)")
    assert value.isascii() and unquote(value) == "José Núñez (jose)"
    # the service knows people by their username; anonymous ones by their name
    assert service_user_name(SimpleNamespace(username="ana", name="Ana Silva")) == "ana"
    assert service_user_name(SimpleNamespace(username="71aa60ef11bd43afb49c37313dac28a5", name="Anonymous Callisto")) == "Anonymous Callisto"


def test_new_jupyter_users_are_admins_of_their_own_service_and_deployers_of_a_shared_one():
    from nbdeploy.server_extension import new_user_role

    assert new_user_role(None, owns_service=True) == "admin"
    assert new_user_role(None, owns_service=False) == "deployer"
    assert new_user_role("viewer", owns_service=True) == "viewer"

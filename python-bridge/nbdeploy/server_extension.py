"""The Jupyter server extension: it attaches to a running nbdeploy service (NBDEPLOY_URL)
or starts one, tells kernels where it is (NBDEPLOY_URL / NBDEPLOY_TOKEN in their
environment), and proxies `/nbdeploy/…` HTTP and `/nbdeploy/ws` WebSocket for the browser,
behind Jupyter's own authentication, naming the Jupyter user to the service for the
audit log. Kept apart from the notebook API, which never imports Jupyter's server."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import httpclient, web, websocket

from ._connection import find_token_file

USER_HEADER = "X-Nbdeploy-User"
PROXIED_HEADERS = ("Content-Type", "Accept")
START_TIMEOUT = 60.0


class ServiceProcess:
    """The service the extension talks to: attached to, or started (and stopped) by it."""

    def __init__(self, url: str, token: str, process: subprocess.Popen | None = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.process = process

    @property
    def ws_url(self) -> str:
        return re.sub(r"^http", "ws", self.url) + "/ws"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _alive(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/v2/health/live", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def service_command() -> list[str]:
    """How to run `nbdeploy`: NBDEPLOY_SERVICE_COMMAND, the npm package's bin on PATH, or
    the repository's bin/nbdeploy.js (for a development install of this package)."""
    if os.environ.get("NBDEPLOY_SERVICE_COMMAND"):
        return os.environ["NBDEPLOY_SERVICE_COMMAND"].split()
    repo_bin = Path(__file__).resolve().parents[2] / "bin" / "nbdeploy.js"
    if repo_bin.is_file() and (repo_bin.parents[1] / "lib").is_dir():
        return ["node", str(repo_bin)]
    found = shutil.which("nbdeploy")
    if found:
        return [found]
    raise RuntimeError(
        "cannot find the nbdeploy service: install it (npm install -g nbdeploy), "
        "set NBDEPLOY_SERVICE_COMMAND, or point NBDEPLOY_URL at a running service"
    )


def attach_or_start(root_dir: str, log: Any) -> ServiceProcess:
    url = os.environ.get("NBDEPLOY_URL")
    if url and _alive(url):
        token = os.environ.get("NBDEPLOY_TOKEN")
        if not token:
            file = find_token_file(Path(root_dir))
            token = file.read_text().strip() if file else ""
        log.info("nbdeploy: using the service at %s", url)
        return ServiceProcess(url, token)
    state_dir = os.environ.get("NBDEPLOY_STATE_DIR") or str(Path(root_dir) / ".nbdeploy")
    command = [*service_command(), "serve", "--port", os.environ.get("NBDEPLOY_PORT", "0"), "--state-dir", state_dir]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    deadline = time.monotonic() + START_TIMEOUT
    line = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline() if process.stdout else ""
        if line.startswith("listening on ") or process.poll() is not None:
            break
    match = re.match(r"listening on (\S+)", line)
    if not match:
        process.kill()
        raise RuntimeError(f"the nbdeploy service did not start ({' '.join(command)}): {line.strip() or 'no output'}")
    token = (Path(state_dir) / "token").read_text().strip()
    log.info("nbdeploy: started the service at %s (state in %s)", match.group(1), state_dir)
    return ServiceProcess(match.group(1), token, process)


def _user(handler: JupyterHandler) -> str:
    """The Jupyter user as people read it in the audit log and the Models panel: the name,
    with the username beside it when that says something more ("Ana Silva (ana)"); not the
    random hex id Jupyter gives anonymous users of a token-protected server."""
    user = handler.current_user
    username = str(getattr(user, "username", None) or "")
    name = str(getattr(user, "display_name", None) or getattr(user, "name", None) or "")
    if not name:
        return username or str(user or "jupyter")
    if username and username != name and not re.fullmatch(r"[0-9a-f]{32}", username):
        return f"{name} ({username})"
    return name


def _header_value(text: str) -> str:
    """HTTP headers carry ASCII: other characters percent-encoded (UTF-8), as the service reads them."""
    return urllib.parse.quote(text, safe=" !#$&'()*+,/:;=?@[]~")


class HttpProxyHandler(JupyterHandler):
    """`/nbdeploy/<path>` → the service's `/<path>`, with its token and the Jupyter user."""

    def initialize(self, service: ServiceProcess) -> None:
        self.service = service

    @web.authenticated
    async def _proxy(self, path: str) -> None:
        headers = {name: self.request.headers[name] for name in PROXIED_HEADERS if name in self.request.headers}
        headers["Authorization"] = f"Bearer {self.service.token}"
        headers[USER_HEADER] = _header_value(_user(self))
        query = f"?{self.request.query}" if self.request.query else ""
        request = httpclient.HTTPRequest(
            f"{self.service.url}/{path}{query}",
            method=self.request.method,
            headers=headers,
            body=self.request.body if self.request.method in ("POST", "PUT") else None,
            request_timeout=300,
        )
        response = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        self.set_status(response.code if response.code != 599 else 502)
        self.set_header("Content-Type", response.headers.get("Content-Type", "application/json"))
        self.finish(response.body if response.code != 599 else b'{"error": "the nbdeploy service did not answer"}')

    async def get(self, path: str) -> None:
        await self._proxy(path)

    async def post(self, path: str) -> None:
        await self._proxy(path)

    def check_xsrf_cookie(self) -> None:
        # POSTs are authenticated by Jupyter's token or cookie; the cookie path keeps XSRF.
        if not self.token_authenticated:
            super().check_xsrf_cookie()


class WebSocketProxyHandler(JupyterHandler, websocket.WebSocketHandler):
    """`/nbdeploy/ws` → the service's `/ws`: frames relayed as they are, both ways."""

    def initialize(self, service: ServiceProcess) -> None:
        self.service = service
        self.upstream: websocket.WebSocketClientConnection | None = None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if self.current_user is None:
            raise web.HTTPError(403)
        await super().get(*args, **kwargs)

    async def open(self, *args: Any, **kwargs: Any) -> None:
        request = httpclient.HTTPRequest(
            self.service.ws_url,
            headers={"Authorization": f"Bearer {self.service.token}", USER_HEADER: _header_value(_user(self))},
        )
        try:
            self.upstream = await websocket.websocket_connect(request, on_message_callback=self._from_service, max_message_size=1 << 30)
        except Exception as error:
            self.close(1011, f"cannot reach the nbdeploy service: {error}"[:120])

    def _from_service(self, message: str | bytes | None) -> None:
        if message is None:
            self.close(1001, "the nbdeploy service closed the connection")
            return
        try:
            self.write_message(message, binary=isinstance(message, bytes))
        except websocket.WebSocketClosedError:
            pass

    async def on_message(self, message: str | bytes) -> None:
        if self.upstream is not None:
            await self.upstream.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        if self.upstream is not None:
            self.upstream.close()


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbdeploy.server_extension"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    service = attach_or_start(serverapp.root_dir, serverapp.log)
    # Kernels started from now on inherit these, so `nd.connect()` needs no arguments.
    os.environ["NBDEPLOY_URL"] = service.url
    os.environ["NBDEPLOY_TOKEN"] = service.token
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "nbdeploy", "ws"), WebSocketProxyHandler, {"service": service}),
            (url_path_join(base, "nbdeploy", "(.*)"), HttpProxyHandler, {"service": service}),
        ],
    )
    atexit.register(service.stop)

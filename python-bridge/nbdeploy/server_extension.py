"""The Jupyter server extension: it attaches to a running nbdeploy service (NBDEPLOY_URL)
or starts one, and holds its admin token. Each Jupyter user acts as themselves
(jupyter_users.py): kernels a user starts get NBDEPLOY_URL and that user's own
NBDEPLOY_TOKEN in their environment, and the `/nbdeploy/…` HTTP and `/nbdeploy/ws`
WebSocket proxy for the browser — behind Jupyter's own authentication — goes with that
user's token. Kept apart from the notebook API, which never imports Jupyter's server."""

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
import urllib.request
from pathlib import Path
from typing import Any

from jupyter_server import CallContext
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import httpclient, web, websocket
from traitlets import Enum
from traitlets.config import Configurable

from ._connection import find_token_file
from .jupyter_users import AccessRevokedError, Credentials, UserTokens

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


class Nbdeploy(Configurable):
    """The server extension's settings (`--Nbdeploy.user_role=viewer`, or jupyter_server_config)."""

    user_role = Enum(
        ["inference", "viewer", "deployer", "reviewer", "admin"],
        default_value=None,
        allow_none=True,
        config=True,
        help="The nbdeploy role of a Jupyter user who has no nbdeploy user yet (made on their "
        "first use): viewer, deployer, reviewer or admin (docs/people.md). An existing user keeps their role. "
        "Default: admin when this server started the service itself (one person's own service, "
        "as `nbdeploy lab` also says), deployer when it uses a shared one (NBDEPLOY_URL).",
    )


def new_user_role(configured: str | None, owns_service: bool) -> str:
    """The role of a Jupyter user new to the service: as configured, else the owner's (admin)
    on a service this server started for one person, else deployer on a shared one."""
    if configured:
        return configured
    return "admin" if owns_service else "deployer"


async def _credentials(handler: JupyterHandler, tokens: UserTokens) -> Credentials:
    """The requesting Jupyter user's credentials; 403 when their nbdeploy access was revoked."""
    try:
        return await tokens.credentials(handler.current_user)
    except AccessRevokedError as error:
        raise web.HTTPError(403, str(error)) from None


class HttpProxyHandler(JupyterHandler):
    """`/nbdeploy/<path>` → the service's `/<path>`, with the Jupyter user's token."""

    def initialize(self, service: ServiceProcess, tokens: UserTokens) -> None:
        self.service = service
        self.tokens = tokens

    @web.authenticated
    async def _proxy(self, path: str) -> None:
        headers = {name: self.request.headers[name] for name in PROXIED_HEADERS if name in self.request.headers}
        credentials = await _credentials(self, self.tokens)
        headers.update(credentials.headers())
        query = f"?{self.request.query}" if self.request.query else ""
        request = httpclient.HTTPRequest(
            f"{self.service.url}/{path}{query}",
            method=self.request.method,
            headers=headers,
            body=self.request.body if self.request.method in ("POST", "PUT") else None,
            request_timeout=300,
        )
        response = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 401 and credentials.user_header is None:
            self.tokens.forget(self.current_user)  # revoked since: asked for again next time
        self.set_status(response.code if response.code != 599 else 502)
        self.set_header("Content-Type", response.headers.get("Content-Type", "application/json"))
        self.finish(response.body if response.code != 599 else b'{"error": "the nbdeploy service did not answer"}')

    async def get(self, path: str) -> None:
        await self._proxy(path)

    async def post(self, path: str) -> None:
        await self._proxy(path)

    # XSRF: JupyterHandler's own check (token-authenticated requests skip it; cookie ones
    # need the _xsrf token), run once the user is known.


class WebSocketProxyHandler(JupyterHandler, websocket.WebSocketHandler):
    """`/nbdeploy/ws` → the service's `/ws`: frames relayed as they are, both ways."""

    def initialize(self, service: ServiceProcess, tokens: UserTokens) -> None:
        self.service = service
        self.tokens = tokens
        self.upstream: websocket.WebSocketClientConnection | None = None
        self.credentials: Credentials | None = None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if self.current_user is None:
            raise web.HTTPError(403)
        # before the upgrade, so that a refusal is an HTTP status the browser sees
        self.credentials = await _credentials(self, self.tokens)
        await super().get(*args, **kwargs)

    async def open(self, *args: Any, **kwargs: Any) -> None:
        assert self.credentials is not None
        request = httpclient.HTTPRequest(self.service.ws_url, headers=self.credentials.headers())
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


def start_kernels_as_their_user(kernel_manager: Any, service: ServiceProcess, tokens: UserTokens) -> None:
    """Kernels get NBDEPLOY_URL and the NBDEPLOY_TOKEN of the Jupyter user who starts them.

    Jupyter's kernel manager is not told who asks for a kernel, but jupyter_server keeps the
    handler of the request being served in its CallContext (a context variable, set in
    JupyterHandler.prepare), for exactly this: code deeper down that needs the request's user.
    So the extension wraps the running kernel manager's `start_kernel` — it serves
    `POST /api/sessions` (through the session manager, which passes the kernel's environment
    with JPY_SESSION_NAME) and `POST /api/kernels` alike — and adds the two variables to the
    environment it passes on. This needs no setting from the person running Jupyter (a
    `kernel_manager_class` would replace theirs) and keeps whatever else the environment
    has. A restart reuses the environment, token included. A kernel started outside a request
    (no user to act as) gets NBDEPLOY_URL only."""
    start_kernel = kernel_manager.start_kernel

    async def start_kernel_as_user(*args: Any, **kwargs: Any) -> Any:
        env = dict(kwargs.get("env") or os.environ)
        env["NBDEPLOY_URL"] = service.url
        env.pop("NBDEPLOY_TOKEN", None)
        handler = CallContext.get(CallContext.JUPYTER_HANDLER)
        user = getattr(handler, "current_user", None) if handler is not None else None
        if user is not None:
            try:
                env["NBDEPLOY_TOKEN"] = (await tokens.credentials(user)).token
            except (AccessRevokedError, web.HTTPError) as error:
                # The kernel still starts (for work that needs no service); nd says why it is refused.
                kernel_manager.log.warning("nbdeploy: the kernel gets no nbdeploy token: %s", error)
        kwargs["env"] = env
        return await start_kernel(*args, **kwargs)

    kernel_manager.start_kernel = start_kernel_as_user


def _load_jupyter_server_extension(serverapp: Any) -> None:
    settings = Nbdeploy(parent=serverapp)
    service = attach_or_start(serverapp.root_dir, serverapp.log)
    tokens = UserTokens(service.url, service.token, new_user_role(settings.user_role, service.process is not None), serverapp.log)
    # Where the service is, for anything this server starts (the admin token stays here: each
    # kernel gets its user's token, see start_kernels_as_their_user).
    os.environ["NBDEPLOY_URL"] = service.url
    os.environ.pop("NBDEPLOY_TOKEN", None)
    start_kernels_as_their_user(serverapp.kernel_manager, service, tokens)
    base = serverapp.web_app.settings["base_url"]
    options = {"service": service, "tokens": tokens}
    serverapp.web_app.add_handlers(
        ".*$",
        [
            (url_path_join(base, "nbdeploy", "ws"), WebSocketProxyHandler, options),
            (url_path_join(base, "nbdeploy", "(.*)"), HttpProxyHandler, options),
        ],
    )
    atexit.register(service.stop)

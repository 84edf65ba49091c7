"""Where the service is and its token: explicit arguments, then the environment
(NBDEPLOY_URL / NBDEPLOY_TOKEN, which the Jupyter server extension sets for kernels),
then the state dir `.nbdeploy/token` in the working folder or one of its parents."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8765"
STATE_DIR = ".nbdeploy"


@dataclass(frozen=True)
class ConnectionInfo:
    url: str
    token: str | None
    #: where the token came from, for error messages
    token_source: str

    @property
    def ws_url(self) -> str:
        base = self.url.rstrip("/")
        if base.startswith("https://"):
            return "wss://" + base[len("https://"):] + "/ws"
        if base.startswith("http://"):
            return "ws://" + base[len("http://"):] + "/ws"
        return base + "/ws"


def find_token_file(start: Path | None = None) -> Path | None:
    folder = (start or Path.cwd()).resolve()
    for candidate in [folder, *folder.parents]:
        token = candidate / STATE_DIR / "token"
        if token.is_file():
            return token
    return None


def resolve(url: str | None = None, token: str | None = None) -> ConnectionInfo:
    url = url or os.environ.get("NBDEPLOY_URL") or DEFAULT_URL
    if token:
        return ConnectionInfo(url, token, "the token argument")
    if os.environ.get("NBDEPLOY_TOKEN"):
        return ConnectionInfo(url, os.environ["NBDEPLOY_TOKEN"], "NBDEPLOY_TOKEN")
    file = find_token_file()
    if file is not None:
        return ConnectionInfo(url, file.read_text().strip(), str(file))
    return ConnectionInfo(url, None, "nowhere (no token argument, NBDEPLOY_TOKEN or .nbdeploy/token found)")

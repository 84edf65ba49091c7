"""Each Jupyter user's own nbdeploy token, so that the service records what people do as
them: the server extension holds the admin token and asks the service for a user's token
the first time that user needs one (`POST /v2/nbdeploy/users/{name}/tokens`, docs/protocol.md),
then keeps it in memory for the server's life. A service without that route (an older one)
answers 404: then everything goes with the admin token and the user's name in
`X-Nbdeploy-User`, as before, which is logged once."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from tornado import httpclient, web

USER_HEADER = "X-Nbdeploy-User"
#: the label the service keeps with tokens made for Jupyter users
TOKEN_LABEL = "jupyter"
_ANONYMOUS_ID = re.compile(r"[0-9a-f]{32}")


def readable_name(user: Any) -> str:
    """The Jupyter user as people read it: the name, with the username beside it when that
    says something more ("Ana Silva (ana)"); not the random hex id Jupyter gives anonymous
    users of a token-protected server."""
    username = str(getattr(user, "username", None) or "")
    name = str(getattr(user, "display_name", None) or getattr(user, "name", None) or "")
    if not name:
        return username or str(user or "jupyter")
    if username and username != name and not _ANONYMOUS_ID.fullmatch(username):
        return f"{name} ({username})"
    return name


def service_user_name(user: Any) -> str:
    """The name the service knows the Jupyter user by: the username (stable, unique), or for
    Jupyter's anonymous users of a token-protected server their name ("Anonymous Callisto"),
    not the random id."""
    username = str(getattr(user, "username", None) or "")
    if username and not _ANONYMOUS_ID.fullmatch(username):
        return username
    return str(getattr(user, "name", None) or username or user or "jupyter")


def header_value(text: str) -> str:
    """HTTP headers carry ASCII: other characters percent-encoded (UTF-8), as the service reads them."""
    return urllib.parse.quote(text, safe=" !#$&'()*+,/:;=?@[]~")


@dataclass(frozen=True)
class Credentials:
    """How a request goes to the service for one Jupyter user: the user's own token, or (an
    older service) the admin token with the user named in a header."""

    token: str
    user_header: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.user_header is not None:
            headers[USER_HEADER] = header_value(self.user_header)
        return headers


class AccessRevokedError(Exception):
    """The service refused to give the user a token (their nbdeploy user was revoked)."""


class UserTokens:
    """Each Jupyter user's service token, made on first use with the admin token."""

    def __init__(self, url: str, admin_token: str, role: str, log: Any) -> None:
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        self.role = role
        self.log = log
        #: None until the service answered once; False when it has no users route (fallback)
        self.per_user: bool | None = None
        self._tokens: dict[str, asyncio.Future[str]] = {}

    async def credentials(self, user: Any) -> Credentials:
        """The credentials for this Jupyter user (raises AccessRevokedError when refused)."""
        if self.per_user is False:
            return Credentials(self.admin_token, readable_name(user))
        name = service_user_name(user)
        pending = self._tokens.get(name)
        if pending is None:
            pending = self._tokens[name] = asyncio.ensure_future(self._make_token(name))
        try:
            token = await asyncio.shield(pending)
        except BaseException:
            if self._tokens.get(name) is pending:
                del self._tokens[name]  # asked again next time (the service may be back)
            raise
        if token == "":
            return Credentials(self.admin_token, readable_name(user))
        return Credentials(token)

    def forget(self, user: Any) -> None:
        """Drops the user's token (the service no longer takes it): the next use asks again."""
        self._tokens.pop(service_user_name(user), None)

    async def _make_token(self, name: str) -> str:
        """The user's new token; "" when the service has no users route (then: fallback)."""
        request = httpclient.HTTPRequest(
            f"{self.url}/v2/nbdeploy/users/{urllib.parse.quote(name, safe='')}/tokens",
            method="POST",
            headers={"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"},
            body=json.dumps({"role": self.role, "label": TOKEN_LABEL}),
            request_timeout=30,
        )
        response = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 404 and self.per_user is not True:
            if self.per_user is None:
                self.log.warning(
                    "nbdeploy: the service at %s gives no per-user tokens (an older version): "
                    "kernels and the sidebar use the admin token, naming the Jupyter user in %s",
                    self.url,
                    USER_HEADER,
                )
            self.per_user = False
            return ""
        body = _json(response)
        if response.code == 403:
            raise AccessRevokedError(f"the nbdeploy service refused a token for {name!r}: {body.get('error') or 'forbidden'}")
        if response.code != 200 or not isinstance(body.get("token"), str):
            raise web.HTTPError(502, f"the nbdeploy service did not give {name!r} a token (HTTP {response.code}): {body.get('error') or response.reason}")
        self.per_user = True
        self.log.info("nbdeploy: %s acts as nbdeploy user %r (role %s)", name, body.get("user", name), body.get("role"))
        return body["token"]


def _json(response: httpclient.HTTPResponse) -> dict[str, Any]:
    try:
        body = json.loads(response.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}

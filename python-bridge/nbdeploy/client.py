"""The notebook's connection to the service: the /ws protocol (docs/protocol.md) over a
websockets sync client, which runs its own thread and so works inside Jupyter's event
loop. Replies are matched to requests by id; a dropped connection is re-opened on the
next request (subscriptions are renewed); a service that cannot be reached raises
ServiceUnreachableError naming the URL and how to start one. Every request but inference
carries where it comes from (`context`: the notebook and the running cell) for the
service's audit log."""

from __future__ import annotations

import itertools
import json
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable

import numpy as np
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from . import tensors
from ._connection import ConnectionInfo
from .errors import ServiceError, ServiceUnreachableError

EventCallback = Callable[[dict], None]
#: where a request comes from (`{notebook?, cell?}`), asked afresh for each request
ContextSource = Callable[[], dict[str, str]]

#: requests that may wait this long for their reply (a register loads and warms the model)
DEFAULT_TIMEOUT = 120.0
RECONNECT_DELAYS = (0.0, 0.25, 1.0)


def _open(url: str, **options: Any) -> ClientConnection:
    """A connection that lives beyond one `with` block (websockets 17 asks for `legacy=True`
    to say so; older versions know no such flag)."""
    try:
        return connect(url, legacy=True, **options)
    except TypeError:
        return connect(url, **options)


class ServiceClient:
    def __init__(self, info: ConnectionInfo, user_agent: str = "nbdeploy-python", context: ContextSource | None = None) -> None:
        self.info = info
        self._user_agent = user_agent
        self._context = context
        self._ws: ClientConnection | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, Future] = {}
        self._subscriptions: dict[str, list[EventCallback]] = {}
        self.welcome: dict | None = None

    # -- connection -------------------------------------------------------------------

    def _connect(self) -> ClientConnection:
        headers = {"Authorization": f"Bearer {self.info.token}"} if self.info.token else {}
        last_error = "no attempt made"
        for delay in RECONNECT_DELAYS:
            if delay:
                time.sleep(delay)
            try:
                ws = _open(
                    self.info.ws_url,
                    additional_headers=headers,
                    user_agent_header=self._user_agent,
                    max_size=None,
                    open_timeout=10,
                    compression=None,
                )
            except InvalidStatus as error:
                status = error.response.status_code
                if status == 401:
                    raise ServiceError(
                        "NBD_ERR_UNAUTHORIZED",
                        f"the service at {self.info.url} refused the token from {self.info.token_source}; "
                        "pass nd.connect(token=...) or set NBDEPLOY_TOKEN (`nbdeploy token` prints it)",
                        401,
                    ) from None
                last_error = f"HTTP {status} on {self.info.ws_url}"
                continue
            except (OSError, WebSocketException, TimeoutError) as error:
                last_error = str(error) or type(error).__name__
                continue
            self.welcome = json.loads(ws.recv(timeout=10))
            threading.Thread(target=self._read, args=(ws,), name="nbdeploy-reader", daemon=True).start()
            return ws
        raise ServiceUnreachableError(self.info.url, last_error)

    def _socket(self) -> ClientConnection:
        with self._lock:
            if self._ws is None:
                self._ws = self._connect()
                for model in self._subscriptions:
                    self._ws.send(json.dumps({"type": "subscribe", "id": next(self._ids), "model": model}))
            return self._ws

    def close(self) -> None:
        with self._lock:
            if self._ws is not None:
                self._ws.close()
                self._ws = None

    def _read(self, ws: ClientConnection) -> None:
        try:
            for message in ws:
                if isinstance(message, bytes):
                    header, payload = tensors.split_frame(message)
                    self._dispatch(header, payload)
                else:
                    self._dispatch(json.loads(message), None)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                if self._ws is ws:
                    self._ws = None
            for future in list(self._pending.values()):
                if not future.done():
                    future.set_exception(ServiceUnreachableError(self.info.url, "the connection closed before the reply"))
            self._pending.clear()

    def _dispatch(self, message: dict, payload: memoryview | None) -> None:
        if message.get("type") == "event":
            for callback in list(self._subscriptions.get(message.get("model", ""), [])):
                try:
                    callback(message)
                except Exception:  # a notebook callback must not stop the reader
                    pass
            return
        future = self._pending.pop(message.get("id"), None)
        if future is None:
            return
        if message.get("type") == "error":
            future.set_exception(ServiceError(message.get("code", "NBD_ERR_INTERNAL"), message.get("error", ""), message.get("status")))
        else:
            future.set_result((message, payload))

    # -- requests ---------------------------------------------------------------------

    def request(self, message: dict, payload: list[bytes] | None = None, timeout: float = DEFAULT_TIMEOUT) -> tuple[dict, memoryview | None]:
        """Sends one request (a binary frame when there is a payload) and waits for its reply."""
        request_id = next(self._ids)
        message = {**message, "id": request_id}
        if self._context is not None and "context" not in message and message.get("type") != "infer":
            context = self._context()
            if context:
                message["context"] = context
        future: Future = Future()
        self._pending[request_id] = future
        frame: bytes | str = tensors.frame(message, payload) if payload is not None else json.dumps(message)
        for attempt in (1, 2):
            ws = self._socket()
            try:
                ws.send(frame)
                break
            except ConnectionClosed:
                # The connection dropped since the last request; a fresh one gets this one.
                with self._lock:
                    if self._ws is ws:
                        self._ws = None
                if attempt == 2:
                    self._pending.pop(request_id, None)
                    raise ServiceUnreachableError(self.info.url, "the connection closed") from None
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            self._pending.pop(request_id, None)
            raise ServiceUnreachableError(self.info.url, f"no reply to {message['type']} within {timeout:.0f} s") from None

    def call(self, type_: str, **fields: Any) -> dict:
        reply, _ = self.request({"type": type_, **{k: v for k, v in fields.items() if v is not None}})
        return reply

    def infer(
        self,
        model: str,
        inputs: dict[str, tuple[np.ndarray, str]],
        version: int | None = None,
        request_id: str | None = None,
        monitor: bool = True,
    ) -> tuple[dict, dict[str, np.ndarray]]:
        """Inference with binary tensors; `inputs` maps name -> (array, datatype). `monitor=False`
        marks evaluation traffic, which the service's monitoring leaves out."""
        headers, payloads = [], []
        for name, (array, datatype) in inputs.items():
            header, data = tensors.encode(array, datatype)
            headers.append({"name": name, **header})
            payloads.append(data)
        message: dict = {"type": "infer", "model": model, "inputs": headers}
        if version is not None:
            message["version"] = version
        if request_id is not None:
            message["request_id"] = request_id
        if not monitor:
            message["monitor"] = False
        reply, payload = self.request(message, payloads)
        outputs: dict[str, np.ndarray] = {}
        offset = 0
        for header in reply["outputs"]:
            array, used = tensors.decode(header, payload, offset)
            outputs[header["name"]] = array
            offset += used
        return reply, outputs

    def subscribe(self, model: str, callback: EventCallback) -> Callable[[], None]:
        """Calls `callback(event)` for each live event of the model; returns an unsubscribe function."""
        first = model not in self._subscriptions
        self._subscriptions.setdefault(model, []).append(callback)
        if first:
            self.call("subscribe", model=model)

        def unsubscribe() -> None:
            callbacks = self._subscriptions.get(model, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks and model in self._subscriptions:
                del self._subscriptions[model]
                try:
                    self.call("unsubscribe", model=model)
                except Exception:
                    pass

        return unsubscribe

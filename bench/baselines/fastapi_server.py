"""FastAPI + uvicorn + Python onnxruntime: the baseline a team would write by hand.

Serves POST /v2/models/{name}/infer with the same Open Inference Protocol v2 JSON request
and response shapes as nbdeploy, on WORKERS uvicorn worker processes (default 2) sharing one
listening socket, as `uvicorn --workers N` runs them, request bodies validated with
pydantic (as nbdeploy validates with zod), access log off. uvicorn picks uvloop and
httptools when they are installed (as `uvicorn[standard]` installs them); the line
`info {...}` on stdout says which it uses.

    .venv/bin/python bench/baselines/fastapi_server.py MODEL.onnx [PORT [WORKERS]]

prints "listening on http://127.0.0.1:PORT" once it accepts connections.
"""

import importlib.util
import json
import os
import signal
import socket
import sys
from typing import Any, Optional

import fastapi
import numpy as np
import onnxruntime as ort
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

model_path = sys.argv[1]
port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2


def load_session():
    options = ort.SessionOptions()
    # The same thread settings as nbdeploy and the bare Node server: one thread per run.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])


# Checked once here (a bad model fails before any worker starts); each worker process
# loads its own session after the fork, since onnxruntime's state does not survive a fork.
output_names = [o.name for o in load_session().get_outputs()]
session = None

OIP_DATATYPES = {
    np.dtype("float32"): "FP32",
    np.dtype("float64"): "FP64",
    np.dtype("int64"): "INT64",
    np.dtype("int32"): "INT32",
    np.dtype("bool"): "BOOL",
}
NUMPY_OF_OIP = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32, "BOOL": np.bool_}


class RequestInput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: Optional[dict[str, Any]] = None
    data: list[Any]


class RequestOutput(BaseModel):
    name: str
    parameters: Optional[dict[str, Any]] = None


class InferRequest(BaseModel):
    id: Optional[str] = None
    parameters: Optional[dict[str, Any]] = None
    inputs: list[RequestInput]
    outputs: Optional[list[RequestOutput]] = None


app = FastAPI()


@app.get("/v2/health/ready")
async def ready():
    return {"ready": True}


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: InferRequest):
    feeds = {
        i.name: np.asarray(i.data, dtype=NUMPY_OF_OIP.get(i.datatype, np.float32)).reshape(i.shape)
        for i in request.inputs
    }
    results = session.run(output_names, feeds)
    outputs = [
        {"name": n, "datatype": OIP_DATATYPES.get(r.dtype, str(r.dtype)), "shape": list(r.shape), "data": r.ravel().tolist()}
        for n, r in zip(output_names, results)
    ]
    return JSONResponse({"model_name": name, "model_version": "1", "id": request.id or "", "outputs": outputs})


class Server(uvicorn.Server):
    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        print(f"listening on http://127.0.0.1:{self.port}", flush=True)


if __name__ == "__main__":
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    has_uvloop = importlib.util.find_spec("uvloop") is not None
    has_httptools = importlib.util.find_spec("httptools") is not None
    info = {
        "python": sys.version.split()[0],
        "onnxruntime": ort.__version__,
        "fastapi": fastapi.__version__,
        "uvicorn": uvicorn.__version__,
        "loop": "uvloop" if has_uvloop else "asyncio",
        "http": "httptools" if has_httptools else "h11",
        "workers": workers,
    }
    print("info " + json.dumps(info), flush=True)
    sock.listen(2048)
    # Like uvicorn's multiprocess supervisor: the socket is bound once, each worker process
    # (forked after the model loaded, as gunicorn's preload does) accepts on it.
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            session = load_session()
            config = uvicorn.Config(app, access_log=False, log_level="warning", loop="auto", http="auto")
            server = Server(config)
            server.port = sock.getsockname()[1]
            server.run(sockets=[sock])
            os._exit(0)
        children.append(pid)

    def stop(signum, _frame):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for pid in children:
        os.waitpid(pid, 0)

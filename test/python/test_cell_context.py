"""Changes from a notebook carry the cell they come from: in a real kernel, sent an execute
request the way JupyterLab sends one (the cell's id in its metadata, `cellId`), the notebook
API puts that id in the message's context, which the audit log records."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[2]
CODE = "import json\nfrom nbdeploy.registration import with_context\nprint(json.dumps(with_context({'type': 'deploy'})))"


def _run_as_jupyterlab(code: str, cell_id: str) -> str:
    """Runs `code` in a python3 kernel as JupyterLab runs a cell; what it printed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "python-bridge"), os.environ.get("PYTHONPATH", "")]), "NBDEPLOY_NOTEBOOK": "work/churn.ipynb"}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}
        request = kc.session.msg("execute_request", content, metadata={"cellId": cell_id})
        kc.shell_channel.send(request)
        printed = ""
        while True:
            message = kc.get_iopub_msg(timeout=60)
            if message["parent_header"].get("msg_id") != request["header"]["msg_id"]:
                continue
            if message["msg_type"] == "stream":
                printed += message["content"]["text"]
            elif message["msg_type"] == "error":
                raise AssertionError("\n".join(message["content"]["traceback"]))
            elif message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return printed
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_with_context_names_the_running_cell():
    printed = _run_as_jupyterlab(CODE, "7f3c1a2e-audit")
    assert json.loads(printed) == {"type": "deploy", "context": {"notebook": "work/churn.ipynb", "cell": "7f3c1a2e-audit"}}


def test_with_context_outside_a_kernel_has_no_cell(monkeypatch):
    from nbdeploy.registration import with_context

    monkeypatch.setenv("NBDEPLOY_NOTEBOOK", "a.ipynb")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert with_context({"type": "x"}) == {"type": "x", "context": {"notebook": "a.ipynb"}}

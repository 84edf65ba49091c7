"""Changes from a notebook carry the cell they come from: in a real ipykernel, sent an
execute request the way JupyterLab sends one (the cell's id as `cellId` in the request's
metadata — nbclient sends none), the notebook API's context names that cell. The Jupyter
server extension's tests follow the same id through to the audit log."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[2]


def test_change_context_names_the_running_cell(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "python-bridge"), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("NBDEPLOY_NOTEBOOK", "work/churn.ipynb")
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        code = "import json\nfrom nbdeploy.context import change_context\nprint(json.dumps(change_context()))"
        request = kc.session.msg("execute_request", {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False}, metadata={"cellId": "7f3c1a2e-audit"})
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
                break
        assert json.loads(printed) == {"notebook": "work/churn.ipynb", "cell": "7f3c1a2e-audit"}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_change_context_outside_a_kernel_has_no_cell(monkeypatch):
    from nbdeploy.context import change_context

    monkeypatch.setenv("NBDEPLOY_NOTEBOOK", "a.ipynb")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert change_context() == {"notebook": "a.ipynb"}

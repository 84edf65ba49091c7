"""Where a change comes from, for the audit log: the notebook's path and the id of the cell
that is running, where Jupyter tells them. JupyterLab sets JPY_SESSION_NAME (the notebook's
path) in the kernel's environment and sends the cell's id as `cellId` in the metadata of
each execute_request, which ipykernel keeps as the running request's parent message."""

from __future__ import annotations

import os
import sys
from typing import Any

#: the longest cell id the service records (Jupyter's are at most 64 characters)
MAX_CELL_ID = 128


def _shell() -> Any:
    """The running IPython, without importing IPython in a plain script."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def notebook_path() -> str | None:
    """The notebook's path where Jupyter tells it (JPY_SESSION_NAME; VS Code's variable)."""
    for name in ("JPY_SESSION_NAME", "NBDEPLOY_NOTEBOOK"):
        if os.environ.get(name):
            return os.environ[name]
    shell = _shell()
    if shell is not None and "__vsc_ipynb_file__" in shell.user_ns:
        return str(shell.user_ns["__vsc_ipynb_file__"])
    return None


def cell_id() -> str | None:
    """The id of the running cell, from the execute_request's metadata (JupyterLab, Notebook 7
    and nbclient send it); None outside a kernel or from a front end that does not."""
    kernel = getattr(_shell(), "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if get_parent is None:
        return None
    try:
        parent = get_parent("shell")
    except (LookupError, KeyError, TypeError):
        return None
    cell = ((parent or {}).get("metadata") or {}).get("cellId")
    return cell if isinstance(cell, str) and 0 < len(cell) <= MAX_CELL_ID else None


def change_context() -> dict[str, str]:
    """`{notebook?, cell?}` for a message that changes something; empty outside Jupyter."""
    context = {"notebook": notebook_path(), "cell": cell_id()}
    return {k: v for k, v in context.items() if v}

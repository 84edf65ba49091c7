/**
 * Asks a notebook's kernel what it could export: `nbdeploy._discovery.exportable()` run as a
 * silent user expression (nothing in the notebook, no execution count), answered as JSON.
 */

import type { Kernel } from '@jupyterlab/services';

/** A fitted model in the kernel's namespace. */
export interface IExportableModel {
  name: string;
  kind: 'sklearn' | 'pytorch' | 'lightgbm' | string;
  /** Its class, e.g. `Pipeline`. */
  type: string;
}

/** A DataFrame, Series or array that a form can pass as sample or holdout data. */
export interface IDataVariable {
  name: string;
  type: string;
  shape: number[];
}

/** What the kernel answered. */
export interface IExportable {
  models: IExportableModel[];
  data: IDataVariable[];
  /** Variables holding artifacts already exported (`nd.export`), with their model name. */
  artifacts: { name: string; model: string }[];
  /** `*.onnx` files in the kernel's working folder. */
  onnx_files: string[];
}

/** The user expression the kernel evaluates (nbdeploy imported under no name of the user's). */
export const DISCOVERY_EXPRESSION = "__import__('nbdeploy._discovery', fromlist=['exportable']).exportable()";

/** Asks the kernel; rejects with a sentence saying why when it cannot answer. */
export async function findExportable(kernel: Kernel.IKernelConnection): Promise<IExportable> {
  const future = kernel.requestExecute({ code: '', silent: true, store_history: false, user_expressions: { nbdeploy: DISCOVERY_EXPRESSION } });
  const reply = await future.done;
  const content = reply.content as { status: string; user_expressions?: Record<string, unknown>; evalue?: string };
  if (content.status !== 'ok') {
    throw new Error(`the kernel could not answer (${content.evalue ?? content.status})`);
  }
  const answer = content.user_expressions?.nbdeploy as
    | { status: 'ok'; data: Record<string, unknown> }
    | { status: 'error'; ename: string; evalue: string }
    | undefined;
  if (!answer) {
    throw new Error('the kernel did not evaluate the question (is it a Python kernel?)');
  }
  if (answer.status === 'error') {
    if (answer.ename === 'ModuleNotFoundError' || answer.ename === 'ImportError') {
      throw new Error(`nbdeploy is not installed in this kernel's Python (${answer.evalue})`);
    }
    throw new Error(`${answer.ename}: ${answer.evalue}`);
  }
  const json = answer.data['application/json'] as Partial<IExportable> | undefined;
  if (!json || typeof json !== 'object') {
    throw new Error('the kernel answered without JSON (an older nbdeploy?)');
  }
  return { models: json.models ?? [], data: json.data ?? [], artifacts: json.artifacts ?? [], onnx_files: json.onnx_files ?? [] };
}

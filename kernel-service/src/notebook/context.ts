/**
 * Where a change comes from, for the audit log: the notebook's path and the id of the
 * running cell, where Jupyter tells them (python-bridge/nbdeploy/context.py).
 *
 * The path: JupyterLab sets JPY_SESSION_NAME in the kernel's environment. The cell: the
 * front end sends its id as `cellId` in the metadata of each execute_request, but tslab
 * hands the code it runs only the request's content. So the first use of this module in a
 * tslab kernel follows the requests inside tslab's own `jupyter` module (tslab.ts): each
 * request's cell id is noted when the request arrives (`ZmqServer.handleExecute`, called
 * for every request as it comes — "run all" sends many at once) and becomes the running
 * cell when its code starts (`JupyterHandlerImpl.handleExecuteImpl`, which runs the
 * requests one after the other). The cell that first imports nbdeploy is already running
 * then, so its changes carry no cell id; every later cell's do. Outside tslab, or with a
 * tslab whose internals differ, changes carry the notebook only.
 */
import { tslabJupyter } from './tslab.js';

/** The longest cell id the service records (Jupyter's are at most 64 characters). */
export const MAX_CELL_ID = 128;

export interface ChangeContext {
  notebook?: string;
  cell?: string;
}

/** The notebook a change comes from, where Jupyter tells it. */
export function notebookPath(env: NodeJS.ProcessEnv = process.env): string | null {
  return env.JPY_SESSION_NAME || env.NBDEPLOY_NOTEBOOK || null;
}

const FOLLOWED = Symbol.for('nbdeploy.cells-followed');
/** Each arrived request's cell id, by its content object (which tslab passes on as is). */
const cellOfRequest = new WeakMap<object, string>();
let runningCell: string | null = null;

type Method = (this: unknown, ...args: unknown[]) => unknown;

function cellIdOf(metadata: unknown): string | null {
  const cell = (metadata as { cellId?: unknown } | null | undefined)?.cellId;
  return typeof cell === 'string' && cell.length > 0 && cell.length <= MAX_CELL_ID ? cell : null;
}

/** Starts following tslab's execute requests (once per kernel); false outside tslab. */
export function followCells(): boolean {
  const jupyter = tslabJupyter();
  const server = jupyter?.ZmqServer?.prototype;
  const handler = jupyter?.JupyterHandlerImpl?.prototype;
  if (!server || !handler || typeof server.handleExecute !== 'function' || typeof handler.handleExecuteImpl !== 'function') return false;
  if (server[FOLLOWED as unknown as string]) return true;
  const arrive = server.handleExecute as Method;
  const run = handler.handleExecuteImpl as Method;
  server.handleExecute = function (this: unknown, socket: unknown, message: { content?: unknown; metadata?: unknown }, ...rest: unknown[]) {
    const cell = cellIdOf(message?.metadata);
    if (cell !== null && message.content && typeof message.content === 'object') cellOfRequest.set(message.content, cell);
    return arrive.call(this, socket, message, ...rest);
  };
  handler.handleExecuteImpl = function (this: unknown, content: unknown, ...rest: unknown[]) {
    runningCell = content !== null && typeof content === 'object' ? (cellOfRequest.get(content) ?? null) : null;
    return run.call(this, content, ...rest);
  };
  server[FOLLOWED as unknown as string] = true;
  return true;
}

/** The id of the running cell, when known. */
export function cellId(): string | null {
  return runningCell;
}

/** `{notebook?, cell?}` for a message that changes something; empty outside Jupyter. */
export function changeContext(): ChangeContext {
  const context: ChangeContext = {};
  const notebook = notebookPath();
  if (notebook) context.notebook = notebook;
  const cell = cellId();
  if (cell) context.cell = cell;
  return context;
}

/**
 * The running tslab kernel's own `jupyter` module, found among the loaded modules (tslab
 * loads it once per kernel; `nbdeploy/notebook` is loaded by Node's resolution, not through
 * tslab, so it cannot import it): what outputs are written with, and where the running
 * request's metadata can be read. Null outside a tslab kernel (a script, a test).
 */
import { createRequire } from 'node:module';

const TSLAB_JUPYTER = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/** The parts of tslab 1.0's `dist/jupyter.js` that nbdeploy uses. */
export interface TslabJupyter {
  lastWriteDisplayData?: unknown;
  /** Receives each execute_request (`handleExecute(socket, message)`), concurrently. */
  ZmqServer?: { prototype: Record<string, unknown> };
  /** Runs the requests' code one after the other (`handleExecuteImpl(content, …)`). */
  JupyterHandlerImpl?: { prototype: Record<string, unknown> };
}

export function tslabJupyter(): TslabJupyter | null {
  const cache = createRequire(import.meta.url).cache;
  for (const [file, mod] of Object.entries(cache)) {
    if (TSLAB_JUPYTER.test(file) && mod?.exports) return mod.exports as TslabJupyter;
  }
  return null;
}

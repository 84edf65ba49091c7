/**
 * What the service and an inference worker thread say to each other, and how tensors
 * cross between them. A typed array that owns its whole buffer is transferred (moved, not
 * copied) and comes back with the answer, so the request keeps its inputs for monitoring;
 * a view into a larger buffer (a WebSocket frame, a pooled body) is copied once, since
 * structured clone would otherwise copy the whole buffer it views.
 */
import type { ErrorCode, ErrorParams } from '../errors.js';
import type { Tensor } from '../protocol/datatypes.js';
import type { Signature } from './signature.js';

export type ToWorker =
  | { op: 'load'; file: string; intraOpThreads: number; warm: boolean; background: boolean }
  | { op: 'run'; id: number; inputs: Tensor[]; outputNames: string[] }
  | { op: 'release' };

export type FromWorker =
  /** The model loaded; `warmError` says why a warm-up run failed (the model is served anyway). */
  | { op: 'loaded'; signature: Signature; warmError: string | null }
  | { op: 'load_failed'; code: ErrorCode; params: ErrorParams }
  | { op: 'result'; id: number; outputs: Tensor[]; inputs: Tensor[] }
  | { op: 'run_failed'; id: number; message: string }
  | { op: 'released' };

/** The tensors as they are posted, and the buffers to transfer with them. */
export interface Packed {
  tensors: Tensor[];
  transfer: ArrayBuffer[];
}

/**
 * Tensors ready to post. Typed arrays that own their whole (non-shared) buffer are moved;
 * others are copied into a buffer of their own, which is then moved.
 */
export function packTensors(tensors: readonly Tensor[]): Packed {
  const transfer = new Set<ArrayBuffer>();
  const packed = tensors.map((t): Tensor => {
    if (Array.isArray(t.data)) return t;
    const view = t.data as ArrayBufferView & { slice(): typeof t.data };
    const owned = view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
    const data = owned ? t.data : view.slice();
    transfer.add((data as ArrayBufferView).buffer as ArrayBuffer);
    return { ...t, data };
  });
  return { tensors: packed, transfer: [...transfer] };
}

/**
 * Puts the data that came back from a worker into the tensors it was taken from, so that
 * a tensor whose buffer was moved is whole again. Copied tensors are left as they were.
 */
export function restoreTensors(originals: readonly Tensor[], returned: readonly Tensor[]): void {
  for (let i = 0; i < originals.length; i++) {
    const original = originals[i]!;
    const back = returned[i];
    if (back && !Array.isArray(original.data) && (original.data as ArrayBufferView).byteLength === 0) {
      (original as { data: Tensor['data'] }).data = back.data;
    }
  }
}

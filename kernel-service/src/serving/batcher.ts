/**
 * A model version's request queue, with dynamic batching: requests queue up; one run takes
 * up to `maxBatchSize` rows (waiting at most `maxQueueDelayMicros` for more), and its
 * results are split back to each request. While runs are busy the queue fills, so batches
 * grow with load and cost no added latency when the model is idle. A failed run fails each
 * of its requests with the error. With `maxBatchSize` 1 every request runs alone, in order.
 *
 * The queue is bounded: past `maxQueueSize` waiting requests, a request is refused at once
 * with a `QueueFullError` saying when to retry, so that overload never grows memory.
 */
import { performance } from 'node:perf_hooks';
import type { NumericArray, Tensor } from '../protocol/datatypes.js';

export interface BatcherOptions {
  maxBatchSize: number;
  maxQueueDelayMicros: number;
  /** Runs that may be in flight at once. */
  maxConcurrentRuns: number;
  /** Requests that may wait for a run; past it they are refused. */
  maxQueueSize: number;
}

/** The queue is full: retry after `retryAfterSeconds` (an estimate of how long the queue takes to drain). */
export class QueueFullError extends Error {
  constructor(
    readonly queued: number,
    readonly retryAfterSeconds: number
  ) {
    super(`${queued} requests are queued, the queue's limit`);
  }
}

export type RunBatch = (inputs: Tensor[]) => Promise<Tensor[]>;

interface Pending {
  inputs: Tensor[];
  rows: number;
  /** Shapes past the first dimension: only requests that agree can share a run. */
  key: string;
  resolve: (outputs: Tensor[]) => void;
  reject: (error: Error) => void;
}

export class Batcher {
  constructor(
    private readonly _run: RunBatch,
    private readonly _options: BatcherOptions,
    private readonly _onBatch: (rows: number, requests: number) => void = () => {}
  ) {}

  /** Requests waiting for a run. */
  get queued(): number {
    return this._queue.length;
  }

  /** Queues one request (inputs in signature order, each with the same first dimension). */
  submit(inputs: Tensor[]): Promise<Tensor[]> {
    if (this._queue.length >= this._options.maxQueueSize) {
      return Promise.reject(new QueueFullError(this._queue.length, this._retryAfterSeconds()));
    }
    const rows = inputs[0]?.shape[0] ?? 0;
    const key = inputs.map((t) => t.shape.slice(1).join('x')).join('|');
    return new Promise<Tensor[]>((resolve, reject) => {
      this._queue.push({ inputs, rows, key, resolve, reject });
      this._queuedRows += rows;
      this._schedule();
    });
  }

  private _schedule(): void {
    if (this._queue.length === 0 || this._running >= this._options.maxConcurrentRuns) {
      return;
    }
    if (this._queuedRows >= this._options.maxBatchSize) {
      this._clearTimer();
      this._flush();
      return;
    }
    if (this._timer !== null || this._immediate !== null) {
      return;
    }
    const delayMs = this._options.maxQueueDelayMicros / 1000;
    if (delayMs >= 1) {
      this._timer = setTimeout(() => {
        this._timer = null;
        this._flush();
      }, delayMs);
    } else {
      // Gather everything that arrived in this turn of the event loop.
      this._immediate = setImmediate(() => {
        this._immediate = null;
        this._flush();
      });
    }
  }

  private _clearTimer(): void {
    if (this._timer !== null) clearTimeout(this._timer);
    if (this._immediate !== null) clearImmediate(this._immediate);
    this._timer = null;
    this._immediate = null;
  }

  private _flush(): void {
    if (this._queue.length === 0 || this._running >= this._options.maxConcurrentRuns) {
      return;
    }
    const batch = this._take();
    this._running++;
    void this._execute(batch).finally(() => {
      this._running--;
      this._schedule();
    });
    this._schedule();
  }

  /** Takes the head request and the following ones that fit with it. */
  private _take(): Pending[] {
    const head = this._queue[0]!;
    const batch: Pending[] = [];
    let rows = 0;
    const rest: Pending[] = [];
    for (const p of this._queue) {
      if (p === head || (p.key === head.key && rows + p.rows <= this._options.maxBatchSize)) {
        batch.push(p);
        rows += p.rows;
      } else {
        rest.push(p);
      }
    }
    this._queue = rest;
    this._queuedRows -= rows;
    return batch;
  }

  /** How long the queue takes to drain at the recent pace of runs: whole seconds, 1 to 60. */
  private _retryAfterSeconds(): number {
    const { maxBatchSize } = this._options;
    const runs = maxBatchSize > 1 ? Math.ceil(this._queuedRows / maxBatchSize) : this._queue.length;
    const seconds = (runs * this._runMs) / this._options.maxConcurrentRuns / 1000;
    return Math.min(60, Math.max(1, Math.ceil(seconds)));
  }

  private async _execute(batch: Pending[]): Promise<void> {
    const rows = batch.reduce((n, p) => n + p.rows, 0);
    this._onBatch(rows, batch.length);
    const started = performance.now();
    try {
      if (batch.length === 1) {
        batch[0]!.resolve(await this._run(batch[0]!.inputs));
        return;
      }
      const inputs = batch[0]!.inputs.map((_, i) => concatRows(batch.map((p) => p.inputs[i]!)));
      const outputs = await this._run(inputs);
      let start = 0;
      for (const p of batch) {
        p.resolve(outputs.map((o) => sliceRows(o, rows, start, start + p.rows)));
        start += p.rows;
      }
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const p of batch) p.reject(failure);
    } finally {
      this._runMs += 0.1 * (performance.now() - started - this._runMs);
    }
  }

  private _queue: Pending[] = [];
  private _queuedRows = 0;
  /** Mean duration of a run (ms), moving average. */
  private _runMs = 1;
  private _running = 0;
  private _timer: NodeJS.Timeout | null = null;
  private _immediate: NodeJS.Immediate | null = null;
}

function concatRows(parts: Tensor[]): Tensor {
  const first = parts[0]!;
  const rows = parts.reduce((n, t) => n + t.shape[0]!, 0);
  const shape = [rows, ...first.shape.slice(1)];
  if (Array.isArray(first.data)) {
    return { ...first, shape, data: parts.flatMap((t) => t.data as string[]) };
  }
  const total = parts.reduce((n, t) => n + t.data.length, 0);
  const ctor = (first.data as NumericArray).constructor as new (n: number) => NumericArray;
  const data = new ctor(total);
  let at = 0;
  for (const t of parts) {
    (data as Float32Array).set(t.data as Float32Array, at);
    at += t.data.length;
  }
  return { ...first, shape, data };
}

function sliceRows(tensor: Tensor, totalRows: number, start: number, end: number): Tensor {
  if (tensor.shape[0] !== totalRows) {
    throw new Error(
      `output "${tensor.name}" has ${tensor.shape[0]} rows for a batch of ${totalRows}; turn dynamic batching off for this model`
    );
  }
  const rowSize = totalRows === 0 ? 0 : tensor.data.length / totalRows;
  return {
    ...tensor,
    shape: [end - start, ...tensor.shape.slice(1)],
    data: tensor.data.slice(start * rowSize, end * rowSize) as Tensor['data']
  };
}

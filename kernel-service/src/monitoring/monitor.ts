/**
 * The service's monitor, as the main thread holds it: the data plane's observer appends each
 * inference to an in-memory ring (inference-ring.ts) and the ring goes to the monitoring
 * worker (monitor-worker.ts) in batches, so that nothing on the request path waits for
 * SQLite, merges windows or runs drift tests. `status`, `series` and `feedback` are asked of
 * the worker (asynchronous); each first hands over what the ring holds, so that the answer
 * includes every inference observed before it (a feedback join sees the predictions just
 * served). A worker that dies is restarted, and the log says so. `close` hands over the ring
 * and has the worker write its open windows before it exits.
 */
import { Worker } from 'node:worker_threads';
import type { DatabaseLocation } from '../storage/database-location.js';
import type { CaptureQuery, CapturedRequest } from './capture-store.js';
import type { CapturedTable } from './captured-table.js';
import type { FeedbackItem } from './feedback.js';
import { InferenceRing } from './inference-ring.js';
import { DEFAULT_INGEST_OPTIONS, type IngestOptions, type ObservedInference } from './ingest.js';
import type { FromWorker, MonitorWorkerData, ToWorker } from './monitor-worker.js';
import type { InspectQuery, MonitorState } from './monitor-state.js';
import type { ChartAlert, MonitorSeries } from './series.js';
import type { StatusOptions, StatusView, WindowUpdate, WindowUpdateListener } from './views.js';
import { MonitorWindow } from './window.js';

/** The window length, retention and log as ingest takes them (the worker's side), and how the ring is handed over. */
export interface MonitorOptions extends Pick<IngestOptions, 'windowSeconds' | 'retentionMs' | 'log'> {
  /** The ring is handed to the worker at least this often (ms)… */
  batchMs: number;
  /** …and as soon as it holds this many inferences. */
  batchEvents: number;
  /** Rows handed over and not yet taken in by the worker, at most; past it, inferences are not monitored (counted). */
  maxPendingRows: number;
  /** How often the worker checkpoints the WAL (ms). */
  checkpointMs: number;
}

export const DEFAULT_MONITOR_OPTIONS: MonitorOptions = {
  windowSeconds: DEFAULT_INGEST_OPTIONS.windowSeconds,
  retentionMs: DEFAULT_INGEST_OPTIONS.retentionMs,
  // A post costs tens of µs whatever its size: batches of tens of ms keep that per inference small.
  batchMs: 50,
  batchEvents: 2048,
  maxPendingRows: 200_000,
  checkpointMs: 5000,
  log: DEFAULT_INGEST_OPTIONS.log
};

interface Pending {
  resolve: (value: never) => void;
  reject: (error: Error) => void;
}

export class Monitor {
  readonly options: MonitorOptions;
  /** Rows of inferences left out because the worker was too far behind. */
  droppedPredictions = 0;

  /** `database`: the service's database, already migrated (the worker opens its own connection to it). */
  constructor(
    private readonly _database: DatabaseLocation,
    options: Partial<MonitorOptions> = {}
  ) {
    this.options = { ...DEFAULT_MONITOR_OPTIONS, ...options };
    if (!(Number.isInteger(this.options.windowSeconds) && this.options.windowSeconds >= 1)) {
      throw new Error(`invalid option: the monitoring window must be a whole number of seconds >= 1, got ${this.options.windowSeconds}`);
    }
    this._worker = this._start();
  }

  /** The data plane's observer: an append to the ring, nothing else. */
  observe(event: ObservedInference): void {
    if (this._closing) return;
    const shape = event.inputs[0]?.shape;
    const rows = shape && shape.length > 0 ? shape[0]! : 1;
    if (this._handedRows + this._ring.rows + rows > this.options.maxPendingRows) {
      this.droppedPredictions += rows;
      return;
    }
    this._ring.append(event);
    if (this._ring.events >= this.options.batchEvents) this._handOver();
    else if (!this._batchTimer) {
      this._batchTimer = setTimeout(() => this._handOver(), this.options.batchMs);
      this._batchTimer.unref();
    }
  }

  /**
   * Called about once a second with the models whose windows took traffic since the last
   * call (an empty list when none did, so that listeners can notice quiet).
   */
  onUpdate(listener: WindowUpdateListener): void {
    this._listeners.push(listener);
  }

  /** Joins ground truth to logged predictions (those just served included); resolves with the rows joined. */
  feedback(model: string, items: readonly FeedbackItem[]): Promise<number> {
    return this._ask('feedback', [model, items]);
  }

  /** The model's monitoring over the last `lastSeconds`, merged from settled and open windows. */
  status(model: string, lastSeconds = 900, requestedVersion?: number, options: StatusOptions = {}): Promise<StatusView> {
    return this._ask('status', [model, lastSeconds, requestedVersion, options]);
  }

  /** The span of a `status` view over time (series.ts). */
  series(model: string, view: Pick<StatusView, 'from' | 'to' | 'version'>, alerts?: readonly ChartAlert[]): Promise<MonitorSeries> {
    return this._ask('series', [model, { from: view.from, to: view.to, version: view.version }, alerts]);
  }

  /** The captured rows of a model over [from, to) (ms), served answers or a shadow version's. */
  captured(query: CaptureQuery): Promise<CapturedTable> {
    return this._ask('captured', [query]);
  }

  /** Captured requests as kept, with the ground truth received for their rows, for a replay. */
  capturedRequests(query: CaptureQuery): Promise<{ requests: CapturedRequest[]; truth: Record<string, unknown> }> {
    return this._ask('captured_requests', [query]);
  }

  /** The captured rows a version served in a span, and what `inspect` finds in them (monitor-state.ts). */
  inspect(query: InspectQuery): Promise<Awaited<ReturnType<MonitorState['inspect']>>> {
    return this._ask('inspect', [query]);
  }

  /** Hands over the ring; the worker writes everything, open windows included, and exits. */
  close(): Promise<void> {
    if (this._closed) return this._closed;
    this._closing = true;
    this._closed = (async () => {
      this._handOver();
      if (this._down) {
        this.options.log(`the monitoring worker was down at shutdown: the monitoring of ${this._handedRows} row(s) is not written`);
        this._queued.length = 0;
        return;
      }
      const worker = this._worker;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      // A worker that neither answers nor exits within 10 s is stopped: shutdown must end.
      const timeout = setTimeout(() => {
        this.options.log('the monitoring worker did not finish writing within 10 s; stopping it');
        void worker.terminate();
      }, 10_000);
      try {
        await this._ask('close', undefined);
      } catch (error) {
        this.options.log(`monitoring could not write its open windows: ${(error as Error).message}`);
      }
      await exited;
      clearTimeout(timeout);
    })();
    return this._closed;
  }

  // --- internals -------------------------------------------------------------------

  private _start(): Worker {
    // The names the new worker starts with: those handed over, but for those the batches queued for it bring.
    const handed = this._ring.handedNames();
    let queuedNames = 0;
    for (const q of this._queued) if (q.message.type === 'batch') queuedNames += q.message.batch.names.length;
    const data: MonitorWorkerData = {
      database: this._database,
      windowSeconds: this.options.windowSeconds,
      retentionMs: this.options.retentionMs,
      names: handed.slice(0, handed.length - queuedNames),
      checkpointMs: this.options.checkpointMs
    };
    const worker = new Worker(new URL('./monitor-worker.js', import.meta.url), { workerData: data });
    this._startedAt = Date.now();
    worker.on('message', (message: FromWorker) => this._receive(message));
    worker.on('error', (error) => this.options.log(`the monitoring worker failed: ${error.stack ?? error.message}`));
    worker.on('exit', (code) => {
      if (worker !== this._worker) return;
      // Until the new worker starts, what is posted waits in `_queued`.
      this._down = true;
      const lost = this._handedRows;
      this._handedRows = 0;
      for (const p of this._pending.values()) p.reject(new Error('the monitoring worker stopped before it answered; ask again'));
      this._pending.clear();
      if (this._closing) return;
      // A worker that dies at once (a database it cannot open, say) is not restarted in a tight loop.
      const delay = Date.now() - this._startedAt < 5000 ? 1000 : 0;
      this.options.log(
        `the monitoring worker stopped (exit code ${code}); restarting it${delay ? ` in ${delay} ms` : ''}` +
          (lost > 0 ? `; the monitoring of ${lost} row(s) handed to it is lost` : '')
      );
      setTimeout(() => {
        if (this._closing) return;
        this._worker = this._start();
        this._down = false;
        for (const q of this._queued.splice(0)) this._post(q.message, q.transfer);
      }, delay).unref();
    });
    return worker;
  }

  private _receive(message: FromWorker): void {
    switch (message.type) {
      case 'ack':
        this._handedRows -= message.rows;
        this._spare = message.numbers;
        return;
      case 'reply': {
        const p = this._pending.get(message.id);
        if (!p) return;
        this._pending.delete(message.id);
        if (message.error !== undefined) p.reject(new Error(message.error));
        else p.resolve(message.result as never);
        return;
      }
      case 'updates': {
        const updates: WindowUpdate[] = message.updates.map((u) => ({
          model: u.model,
          windowSeconds: u.windowSeconds,
          versions: u.versions.map((v) => ({ version: v.version, window: MonitorWindow.fromJSON(v.window), added: v.added })),
          windows: u.windows.map((w) => MonitorWindow.fromJSON(w))
        }));
        for (const listener of this._listeners) {
          try {
            listener(updates, message.elsewhere);
          } catch (error) {
            this.options.log(`a monitoring update listener failed: ${(error as Error).message}`);
          }
        }
        return;
      }
      case 'log':
        this.options.log(message.message);
        return;
      case 'ready':
        return;
    }
  }

  /** Posts what the ring holds (its numbers transferred, not copied). */
  private _handOver(): void {
    if (this._batchTimer) {
      clearTimeout(this._batchTimer);
      this._batchTimer = null;
    }
    const batch = this._ring.take(this._spare ?? undefined);
    this._spare = null;
    if (!batch) return;
    this._handedRows += batch.rows;
    this._post({ type: 'batch', batch }, [batch.numbers.buffer as ArrayBuffer]);
  }

  private _ask<T>(type: 'status' | 'series' | 'feedback' | 'captured' | 'captured_requests' | 'inspect' | 'close', args: unknown): Promise<T> {
    if (this._closing && type !== 'close') return Promise.reject(new Error('the monitor is closed'));
    this._handOver();
    const id = ++this._nextId;
    return new Promise<T>((resolve, reject) => {
      this._pending.set(id, { resolve: resolve as (value: never) => void, reject });
      this._post((type === 'close' ? { type, id } : { type, id, args }) as ToWorker);
    });
  }

  private _post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (this._down) this._queued.push({ message, transfer });
    else this._worker.postMessage(message, transfer);
  }

  private _worker: Worker;
  /** Whether the worker died and its successor has not started yet; what is posted meanwhile. */
  private _down = false;
  private readonly _queued: Array<{ message: ToWorker; transfer: ArrayBuffer[] }> = [];
  private readonly _ring = new InferenceRing();
  private readonly _listeners: WindowUpdateListener[] = [];
  private readonly _pending = new Map<number, Pending>();
  private _nextId = 0;
  /** Rows handed to the worker that it has not taken in yet. */
  private _handedRows = 0;
  /** A ring buffer the worker gave back, for the next batch. */
  private _spare: Float64Array | null = null;
  private _batchTimer: NodeJS.Timeout | null = null;
  private _startedAt = 0;
  private _closing = false;
  private _closed: Promise<void> | null = null;
}

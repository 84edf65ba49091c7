/**
 * The monitoring worker thread: everything monitoring does besides the request path's append
 * to the ring (inference-ring.ts). It reads the batches the main thread hands it into the
 * windows, writes the predictions log and the closed windows with its own connection
 * (monitor-storage.ts: SQLite beside the main thread's, or a small PostgreSQL pool), runs
 * SQLite's WAL checkpoints, answers `status`, the series and
 * the feedback join from cached settled windows, keeps the captured requests and reads them
 * back, and tells the main thread once a second what the windows took (the live window
 * stream and the alert rules, which stay there).
 *
 * Messages are handled in the order they arrive, so a query or a feedback join sees every
 * inference handed over before it; queries and joins run one at a time. Those that arrive
 * while the storage opens (PostgreSQL's is asynchronous) wait for it, in order.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { DatabaseLocation } from '../storage/database-location.js';
import { FleetUpdates } from './fleet-updates.js';
import { type RingBatch, readBatch } from './inference-ring.js';
import { type MonitorStorage, openMonitorStorage } from './monitor-storage.js';
import { MonitorState } from './monitor-state.js';
import type { WindowUpdate } from './views.js';
import type { MonitorWindow, WindowState } from './window.js';

/** What the main thread starts the worker with. */
export interface MonitorWorkerData {
  database: DatabaseLocation;
  windowSeconds: number;
  retentionMs: number;
  maxPredictions?: number;
  /** Names the main thread interned before this worker started (a restarted worker). */
  names: string[];
  checkpointMs: number;
}

/** A window update as it crosses to the main thread: the windows with their operations only. */
export interface WindowUpdateMessage {
  model: string;
  windowSeconds: number;
  versions: Array<{ version: number; window: WindowState; added: WindowUpdate['versions'][number]['added'] }>;
  windows: WindowState[];
}

export type ToWorker =
  | { type: 'batch'; batch: RingBatch }
  | { type: 'status'; id: number; args: Parameters<MonitorState['status']> }
  | { type: 'series'; id: number; args: Parameters<MonitorState['series']> }
  | { type: 'feedback'; id: number; args: Parameters<MonitorState['feedback']> }
  | { type: 'captured'; id: number; args: Parameters<MonitorState['captured']> }
  | { type: 'captured_requests'; id: number; args: Parameters<MonitorState['capturedRequests']> }
  | { type: 'inspect'; id: number; args: Parameters<MonitorState['inspect']> }
  | { type: 'close'; id: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'ack'; rows: number; numbers: Float64Array }
  | { type: 'reply'; id: number; result?: unknown; error?: string }
  | { type: 'updates'; updates: WindowUpdateMessage[]; elsewhere: string[] }
  | { type: 'log'; message: string };

function opsOnly(w: MonitorWindow): WindowState {
  const { integrityFeatures: _features, ...state } = w.toJSON();
  return { ...state, features: {}, prediction: null };
}

if (parentPort) {
  const port = parentPort;
  const data = workerData as MonitorWorkerData;
  const post = (message: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(message, transfer ?? []);
  // Until the storage is open, messages wait here in arrival order.
  const early: ToWorker[] = [];
  let handle = (message: ToWorker): void => void early.push(message);
  port.on('message', (message: ToWorker) => handle(message));
  // A storage that cannot be opened ends the worker with the error (the main thread logs it and restarts the worker).
  void openMonitorStorage(data.database).then((storage) => {
    handle = serve(port, data, storage, post);
    for (const message of early.splice(0)) handle(message);
    post({ type: 'ready' });
  });
}

/** Runs monitoring on the open storage; returns the handler of the main thread's messages. */
function serve(port: MessagePort, data: MonitorWorkerData, storage: MonitorStorage, post: (message: FromWorker, transfer?: ArrayBuffer[]) => void): (message: ToWorker) => void {
  const state = new MonitorState(
    storage.registry,
    storage.store,
    {
      windowSeconds: data.windowSeconds,
      retentionMs: data.retentionMs,
      ...(data.maxPredictions !== undefined ? { maxPredictions: data.maxPredictions } : {}),
      log: (message) => post({ type: 'log', message })
    },
    storage.captures
  );
  // The updates as the whole service's traffic: the other replicas' open windows merged in (in order, one at a time).
  const fleet = new FleetUpdates(storage.store);
  let publishing = Promise.resolve();
  state.onUpdate((updates) => {
    publishing = publishing
      .then(() => fleet.merge(updates, data.windowSeconds, Date.now()))
      .then(({ updates: merged, elsewhere }) =>
        post({
          type: 'updates',
          updates: merged.map((u) => ({
            model: u.model,
            windowSeconds: u.windowSeconds,
            versions: u.versions.map((v) => ({ version: v.version, window: opsOnly(v.window), added: v.added })),
            windows: u.windows.map(opsOnly)
          })),
          elsewhere
        })
      )
      .catch((error: Error) => post({ type: 'log', message: `monitoring: the live window stream could not merge the other replicas' windows: ${error.message}` }));
  });
  const names = [...data.names];
  const checkpoint = (): void => {
    try {
      storage.checkpoint?.();
    } catch (error) {
      post({ type: 'log', message: `monitoring: WAL checkpoint failed: ${(error as Error).message}` });
    }
  };
  const checkpoints = storage.checkpoint ? setInterval(checkpoint, data.checkpointMs) : null;

  /** Queries, joins and the close, one at a time in arrival order (batches are read at once, in order). */
  let queries: Promise<void> = Promise.resolve();
  const answer = async (message: Exclude<ToWorker, { type: 'batch' }>): Promise<void> => {
    if (message.type === 'close') {
      if (checkpoints) clearInterval(checkpoints);
      let error: string | undefined;
      try {
        await state.close();
        storage.checkpoint?.();
      } catch (e) {
        error = (e as Error).message;
      }
      await storage.close().catch((e: unknown) => (error ??= (e as Error).message));
      post({ type: 'reply', id: message.id, error });
      port.close();
      return;
    }
    try {
      const result =
        message.type === 'status'
          ? await state.status(...message.args)
          : message.type === 'series'
            ? await state.series(...message.args)
            : message.type === 'captured'
              ? await state.captured(...message.args)
              : message.type === 'captured_requests'
                ? await state.capturedRequests(...message.args)
                : message.type === 'inspect'
                  ? await state.inspect(...message.args)
                  : await state.feedback(...message.args);
      post({ type: 'reply', id: message.id, result });
    } catch (error) {
      post({ type: 'reply', id: message.id, error: (error as Error).message });
    }
  };

  return (message: ToWorker) => {
    if (message.type === 'batch') {
      // Observed now, so that a query or join that arrives after it sees it.
      for (const event of readBatch(message.batch, names)) state.observe(event);
      const numbers = message.batch.numbers;
      post({ type: 'ack', rows: message.batch.rows, numbers }, [numbers.buffer as ArrayBuffer]);
      return;
    }
    queries = queries
      .then(() => answer(message))
      .catch((error: unknown) => post({ type: 'log', message: `monitoring: ${message.type} failed: ${(error as Error).message}` }));
  };
}

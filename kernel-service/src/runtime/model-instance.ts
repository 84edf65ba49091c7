/**
 * One instance of a model version: a worker thread holding its own onnxruntime session
 * (Triton's model instance). Runs are posted to the worker and answered in order; the
 * event loop never waits for onnxruntime.
 *
 * A worker that stops unexpectedly (a crash in native code, out of memory) fails the runs
 * it held with a clear error — never leaves them hanging — and is replaced by a new worker
 * that loads the same file. One that keeps dying (three times within a minute) is not
 * restarted again: its runs fail at once, saying why.
 */
import { Worker } from 'node:worker_threads';
import { ServiceError } from '../errors.js';
import type { Tensor } from '../protocol/datatypes.js';
import type { RuntimeOptions } from './onnx-model.js';
import type { Signature } from './signature.js';
import { type FromWorker, type ToWorker, packTensors, restoreTensors } from './worker-protocol.js';

export interface InstanceOptions extends RuntimeOptions {
  /** Names the instance in log lines and errors, e.g. `model "iris" version 2`. */
  label: string;
  /** One run on zeros after loading, so the first request does not pay for it (default true). */
  warm?: boolean;
  /** Work that must not slow live traffic (replays): the worker thread runs at a lower scheduling priority (nice +10). */
  background?: boolean;
  log: (message: string) => void;
  /** Told when a worker thread starts (+1) or ends (-1), for metrics. */
  onWorkers?: (delta: number) => void;
  /** Told when the worker stopped unexpectedly, for metrics. */
  onRestart?: () => void;
}

interface PendingRun {
  inputs: readonly Tensor[];
  resolve: (outputs: Tensor[]) => void;
  reject: (error: Error) => void;
}

const RESTART_WINDOW_MS = 60_000;
const MAX_RESTARTS_IN_WINDOW = 3;
const RELEASE_TIMEOUT_MS = 10_000;

export class ModelInstance {
  /** Starts a worker and loads the model in it; a model that cannot load is refused (NBD_ERR_MODEL_INVALID). */
  static async start(file: string, options: InstanceOptions): Promise<ModelInstance> {
    const instance = new ModelInstance(file, options);
    try {
      instance._signature = await instance._spawn();
    } catch (error) {
      instance._released = true;
      await instance._worker?.terminate();
      throw error;
    }
    return instance;
  }

  private constructor(
    private readonly _file: string,
    private readonly _options: InstanceOptions
  ) {}

  get signature(): Signature {
    return this._signature!;
  }

  /** Runs posted to the worker and not answered yet. */
  get pending(): number {
    return this._pending.size;
  }

  /** The worker thread now (a new one after a restart). */
  get worker(): Worker {
    return this._worker!;
  }

  run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<Tensor[]> {
    if (this._broken) return Promise.reject(new Error(this._broken));
    if (this._released) return Promise.reject(new Error(`${this._options.label} was released`));
    const id = this._nextId++;
    const packed = packTensors(inputs);
    return new Promise<Tensor[]>((resolve, reject) => {
      this._pending.set(id, { inputs, resolve, reject });
      this._post({ op: 'run', id, inputs: packed.tensors, outputNames: [...outputNames] }, packed.transfer);
    });
  }

  /** Waits for the runs posted, frees the session and ends the worker. */
  async release(): Promise<void> {
    if (this._released) return;
    this._released = true;
    if (this._pending.size > 0) await new Promise<void>((resolve) => (this._idle = resolve));
    if (this._exited) return;
    const worker = this._worker!;
    const released = new Promise<void>((resolve) => {
      worker.on('message', (m: FromWorker) => m.op === 'released' && resolve());
      worker.once('exit', () => resolve());
      setTimeout(resolve, RELEASE_TIMEOUT_MS).unref();
    });
    this._post({ op: 'release' });
    await released;
    await worker.terminate();
  }

  /** A new worker with the model loaded in it; resolves with the signature once loaded. */
  private _spawn(): Promise<Signature> {
    const worker = new Worker(workerScript());
    this._worker = worker;
    this._exited = false;
    this._options.onWorkers?.(1);
    return new Promise<Signature>((resolve, reject) => {
      let loaded = false;
      let failure: Error | null = null;
      worker.on('message', (message: FromWorker) => {
        switch (message.op) {
          case 'loaded':
            loaded = true;
            if (message.warmError) this._options.log(`${this._options.label}: a warm-up run on zeros failed (${message.warmError}); serving it anyway`);
            resolve(message.signature);
            break;
          case 'load_failed':
            reject(new ServiceError(message.code, message.params));
            break;
          case 'result': {
            const run = this._take(message.id);
            if (!run) break;
            restoreTensors(run.inputs, message.inputs);
            run.resolve(message.outputs);
            break;
          }
          case 'run_failed':
            this._take(message.id)?.reject(new Error(message.message));
            break;
        }
      });
      worker.on('error', (error) => {
        failure = error;
      });
      worker.on('exit', (code) => {
        this._options.onWorkers?.(-1);
        if (this._worker !== worker) return;
        this._exited = true;
        const reason = failure ? failure.message : `exit code ${code}`;
        if (!loaded) reject(new ServiceError('NBD_ERR_MODEL_INVALID', { reason: `the inference worker stopped while loading it (${reason})` }));
        if (!this._released) this._died(reason);
      });
      this._post({ op: 'load', file: this._file, intraOpThreads: this._options.intraOpThreads, warm: this._options.warm ?? true, background: this._options.background ?? false });
    });
  }

  /** The worker stopped on its own: fail what it held, then start another (unless it keeps dying). */
  private _died(reason: string): void {
    const { label, log } = this._options;
    const now = Date.now();
    this._deaths = this._deaths.filter((at) => now - at < RESTART_WINDOW_MS);
    this._deaths.push(now);
    const restarting = this._deaths.length <= MAX_RESTARTS_IN_WINDOW;
    const error = new Error(
      `the worker thread running ${label} stopped (${reason}) before answering; ` +
        (restarting ? 'a new worker is loading the model' : 'it stopped too often and is not restarted: deploy the version again')
    );
    for (const id of [...this._pending.keys()]) this._take(id)!.reject(error);
    this._options.onRestart?.();
    if (!restarting) {
      this._broken = `${label} is out of service: its worker thread stopped ${this._deaths.length} times within a minute (last: ${reason}); deploy the version again`;
      log(this._broken);
      return;
    }
    log(`${label}: its worker thread stopped (${reason}); starting a new one`);
    this._spawn().then(
      () => log(`${label}: a new worker thread serves it`),
      (failure: Error) => log(`${label}: the new worker thread could not load it: ${failure.message}`)
    );
  }

  private _take(id: number): PendingRun | undefined {
    const run = this._pending.get(id);
    this._pending.delete(id);
    if (this._pending.size === 0) this._idle?.();
    return run;
  }

  private _post(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    this._worker!.postMessage(message, transfer);
  }

  private _worker: Worker | null = null;
  private _signature: Signature | null = null;
  private readonly _pending = new Map<number, PendingRun>();
  private _nextId = 1;
  private _released = false;
  private _broken: string | null = null;
  private _deaths: number[] = [];
  private _idle: (() => void) | null = null;
  /** The current worker has exited (it died and was not replaced, or was released). */
  private _exited = false;
}

/**
 * The worker's script, which tsc builds beside this module in lib/. Under vitest this
 * module runs from its TypeScript source, so the script comes from the build in lib/
 * (`make build` writes it before the tests run).
 */
function workerScript(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./inference-worker.js', import.meta.url);
  return new URL('../../../lib/kernel-service/runtime/inference-worker.js', import.meta.url);
}

/**
 * One model version being served: its instances (worker threads with an onnxruntime
 * session each), its bounded request queue with dynamic batching, and its metrics. It
 * counts requests in flight so that a version taken out of service is released only after
 * the last of them finishes (hot swap and shutdown both rely on this).
 */
import { ServiceError } from '../errors.js';
import type { ServiceMetrics, VersionMetrics } from '../metrics.js';
import type { Tensor } from '../protocol/datatypes.js';
import type { BatchingConfig, VersionRecord } from '../registry/registry.js';
import type { RuntimeOptions } from '../runtime/onnx-model.js';
import type { Signature } from '../runtime/signature.js';
import { IntegrityPlan } from './admission.js';
import { Batcher, QueueFullError } from './batcher.js';
import { InstanceGroup } from './instance-group.js';

/**
 * Runs each instance may hold at once: one running, one waiting in the worker, so that a
 * worker never idles between runs while the next batch forms on the event loop.
 */
const RUNS_PER_INSTANCE = 2;

export class LoadedVersion {
  private constructor(
    readonly model: string,
    readonly version: number,
    private readonly _instances: InstanceGroup,
    readonly metrics: VersionMetrics,
    batching: BatchingConfig
  ) {
    this._allOutputs = _instances.signature.outputs.map((o) => o.name);
    this.integrity = new IntegrityPlan(model, _instances.signature, undefined);
    this.configureBatching(batching);
  }

  /** Starts the version's instances, each loading and warming the model in its worker. */
  static async load(record: VersionRecord, file: string, runtime: RuntimeOptions, metrics: ServiceMetrics, log: (message: string) => void): Promise<LoadedVersion> {
    const label = `model "${record.model}" version ${record.version}`;
    const instances = await InstanceGroup.start(file, record.batching.instances, {
      ...runtime,
      label,
      log,
      onWorkers: (delta) => metrics.inferenceWorkers.inc(delta),
      onRestart: () => metrics.workerRestarts.inc({ model: record.model, version: String(record.version) })
    });
    return new LoadedVersion(record.model, record.version, instances, metrics.forVersion(record.model, record.version), record.batching);
  }

  /** How this version's requests are checked for data integrity (the model server adds the training profile). */
  integrity: IntegrityPlan;

  get signature(): Signature {
    return this._instances.signature;
  }

  get inflight(): number {
    return this._inflight;
  }

  /** Requests waiting for a run. */
  get queued(): number {
    return this._queue.queued;
  }

  get batching(): BatchingConfig {
    return this._batching;
  }

  /** The worker threads serving this version now. */
  get instances(): InstanceGroup {
    return this._instances;
  }

  /** Starts or ends instances to match `count` (new ones load before they take runs). */
  async scale(count: number): Promise<void> {
    await this._instances.resize(count);
  }

  /**
   * The queue and batching for `batching`; requests already queued finish in the old
   * queue. Rows are batched only where every input and output has a free first dimension.
   */
  configureBatching(batching: BatchingConfig): void {
    if (this._batching && JSON.stringify(this._batching) === JSON.stringify(batching)) return;
    this._batching = batching;
    const batched = batching.maxBatchSize > 1 && this._instances.signature.batchable;
    this._queue = new Batcher(
      (inputs) => this._instances.run(inputs, this._allOutputs),
      {
        maxBatchSize: batched ? batching.maxBatchSize : 1,
        maxQueueDelayMicros: batched ? batching.maxQueueDelayMicros : 0,
        maxConcurrentRuns: batching.instances * RUNS_PER_INSTANCE,
        maxQueueSize: batching.maxQueueSize
      },
      (rows) => this.metrics.batchSize.observe(rows)
    );
  }

  /**
   * Runs checked inputs; returns the named outputs. A full queue refuses with NBD_ERR_OVERLOADED.
   * `background` runs them on the version's background instance (a lower-priority worker
   * thread, instance-group.ts) instead, outside the queue: replays, which must not slow live traffic.
   */
  async predict(inputs: Tensor[], outputNames: readonly string[], background = false): Promise<Tensor[]> {
    if (this._released) {
      throw new Error(`model "${this.model}" version ${this.version} was released`);
    }
    this._inflight++;
    try {
      const outputs = background ? await this._instances.runInBackground(inputs, this._allOutputs) : await this._queue.submit(inputs);
      return outputNames.length === outputs.length
        ? outputs
        : outputNames.map((n) => outputs[this._allOutputs.indexOf(n)]!);
    } catch (error) {
      if (error instanceof QueueFullError) {
        throw new ServiceError('NBD_ERR_OVERLOADED', {
          model: this.model,
          version: this.version,
          queued: error.queued,
          retry_after: error.retryAfterSeconds
        });
      }
      throw error;
    } finally {
      this._inflight--;
      if (this._inflight === 0 && this._drained) {
        this._drained();
      }
    }
  }

  /** Waits for the requests in flight, then ends the instances. */
  async release(): Promise<void> {
    if (this._released) return;
    this._released = true;
    if (this._inflight > 0) {
      await new Promise<void>((resolve) => (this._drained = resolve));
    }
    await this._instances.release();
  }

  private readonly _allOutputs: string[];
  private _batching!: BatchingConfig;
  private _queue!: Batcher;
  private _inflight = 0;
  private _released = false;
  private _drained: (() => void) | null = null;
}

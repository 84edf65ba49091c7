/**
 * One model version loaded and warmed in onnxruntime, with its batcher and metrics. It
 * counts requests in flight so that a version taken out of service is released only
 * after the last of them finishes (hot swap and shutdown both rely on this).
 */
import type { ServiceMetrics, VersionMetrics } from '../metrics.js';
import type { Tensor } from '../protocol/datatypes.js';
import type { BatchingConfig, VersionRecord } from '../registry/registry.js';
import { OnnxModel, type RuntimeOptions } from '../runtime/onnx-model.js';
import type { Signature } from '../runtime/signature.js';
import { IntegrityPlan } from './admission.js';
import { Batcher } from './batcher.js';

export class LoadedVersion {
  private constructor(
    readonly model: string,
    readonly version: number,
    private readonly _onnx: OnnxModel,
    readonly metrics: VersionMetrics,
    batching: BatchingConfig
  ) {
    this._allOutputs = _onnx.signature.outputs.map((o) => o.name);
    this.integrity = new IntegrityPlan(model, _onnx.signature, undefined);
    this.configureBatching(batching);
  }

  static async load(record: VersionRecord, file: string, runtime: RuntimeOptions, metrics: ServiceMetrics): Promise<LoadedVersion> {
    const onnx = await OnnxModel.load(file, runtime);
    try {
      await onnx.warm();
    } catch (error) {
      await onnx.release();
      throw error;
    }
    return new LoadedVersion(record.model, record.version, onnx, metrics.forVersion(record.model, record.version), record.batching);
  }

  /** How this version's requests are checked for data integrity (the model server adds the training profile). */
  integrity: IntegrityPlan;

  get signature(): Signature {
    return this._onnx.signature;
  }

  get inflight(): number {
    return this._inflight;
  }

  get batching(): BatchingConfig | null {
    return this._batcher ? this._batching : null;
  }

  /** Batching applies only where every input and output has a free first dimension. */
  configureBatching(batching: BatchingConfig): void {
    this._batching = batching;
    this._batcher =
      batching.maxBatchSize > 1 && this._onnx.signature.batchable
        ? new Batcher(
            (inputs) => this._onnx.run(inputs, this._allOutputs),
            // onnxruntime-node 1.30 runs a session on the main thread (in a setImmediate), so
            // two runs give no parallelism; they let the next batch form while one is queued.
            { maxBatchSize: batching.maxBatchSize, maxQueueDelayMicros: batching.maxQueueDelayMicros, maxConcurrentRuns: 2 },
            (rows) => this.metrics.batchSize.observe(rows)
          )
        : null;
  }

  /** Runs checked inputs; returns the named outputs. */
  async predict(inputs: Tensor[], outputNames: readonly string[]): Promise<Tensor[]> {
    if (this._released) {
      throw new Error(`model "${this.model}" version ${this.version} was released`);
    }
    this._inflight++;
    try {
      if (this._batcher === null) {
        this.metrics.batchSize.observe(inputs[0]?.shape[0] ?? 1);
        return await this._onnx.run(inputs, outputNames);
      }
      const outputs = await this._batcher.submit(inputs);
      return outputNames.length === outputs.length
        ? outputs
        : outputNames.map((n) => outputs[this._allOutputs.indexOf(n)]!);
    } finally {
      this._inflight--;
      if (this._inflight === 0 && this._drained) {
        this._drained();
      }
    }
  }

  /** Waits for the requests in flight, then frees the onnxruntime session. */
  async release(): Promise<void> {
    if (this._released) return;
    this._released = true;
    if (this._inflight > 0) {
      await new Promise<void>((resolve) => (this._drained = resolve));
    }
    await this._onnx.release();
  }

  private readonly _allOutputs: string[];
  private _batching!: BatchingConfig;
  private _batcher: Batcher | null = null;
  private _inflight = 0;
  private _released = false;
  private _drained: (() => void) | null = null;
}

/**
 * A model version's instances (Triton's instance_group): N worker threads, each with its
 * own onnxruntime session of the same file. A run goes to the instance with the fewest runs
 * outstanding. The count changes without a pause: new instances load before they take
 * runs; instances taken away finish what they hold first.
 */
import type { Tensor } from '../protocol/datatypes.js';
import { type InstanceOptions, ModelInstance } from '../runtime/model-instance.js';
import type { Signature } from '../runtime/signature.js';

export class InstanceGroup {
  /** Starts `count` instances side by side; if one cannot load, none is kept and the error is thrown. */
  static async start(file: string, count: number, options: InstanceOptions): Promise<InstanceGroup> {
    const group = new InstanceGroup(file, options);
    await group.resize(count);
    return group;
  }

  private constructor(
    private readonly _file: string,
    private readonly _options: InstanceOptions
  ) {}

  get signature(): Signature {
    return this._instances[0]!.signature;
  }

  get size(): number {
    return this._instances.length;
  }

  /** The instances now (for tests and diagnostics). */
  get instances(): readonly ModelInstance[] {
    return this._instances;
  }

  run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<Tensor[]> {
    let best = this._instances[0]!;
    for (const instance of this._instances) {
      if (instance.pending < best.pending) best = instance;
    }
    return best.run(inputs, outputNames);
  }

  /** Grows (loading the new instances before they take runs) or shrinks (the removed ones drain, then end). */
  async resize(count: number): Promise<void> {
    if (count > this._instances.length) {
      const started = await Promise.allSettled(
        Array.from({ length: count - this._instances.length }, () => ModelInstance.start(this._file, this._options))
      );
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      if (failed) {
        await Promise.all(ok.map((instance) => instance.release()));
        throw failed.reason;
      }
      this._instances = [...this._instances, ...ok];
    } else if (count < this._instances.length) {
      const removed = this._instances.slice(count);
      this._instances = this._instances.slice(0, count);
      await Promise.all(removed.map((instance) => instance.release()));
    }
  }

  async release(): Promise<void> {
    const all = this._instances;
    await Promise.all(all.map((instance) => instance.release()));
  }

  private _instances: ModelInstance[] = [];
}

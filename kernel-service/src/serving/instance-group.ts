/**
 * A model version's instances (Triton's instance_group): N worker threads, each with its
 * own onnxruntime session of the same file. A run goes to the instance with the fewest runs
 * outstanding. The count changes without a pause: new instances load before they take
 * runs; instances taken away finish what they hold first.
 *
 * Work that must not slow live traffic (a replay of captured requests) runs on a background
 * instance of its own, started when first asked for: a worker thread at a lower scheduling
 * priority, so the operating system gives the live instances and the event loop the cores
 * first. It ends after BACKGROUND_IDLE_MS without work, or with the group.
 */
import type { Tensor } from '../protocol/datatypes.js';
import { type InstanceOptions, ModelInstance } from '../runtime/model-instance.js';
import type { Signature } from '../runtime/signature.js';

/** A background instance with nothing to do for this long ends. */
const BACKGROUND_IDLE_MS = 30_000;

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

  /** Runs on the background instance (started on first use; nice +10), outside the live instances' turns. */
  async runInBackground(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<Tensor[]> {
    if (this._released) throw new Error(`${this._options.label} was released`);
    if (this._idleTimer) clearTimeout(this._idleTimer);
    this._idleTimer = null;
    this._backgroundRuns++;
    try {
      this._background ??= ModelInstance.start(this._file, { ...this._options, warm: false, background: true, label: `${this._options.label} (background)` });
      const instance = await this._background.catch((error: unknown) => {
        this._background = null;
        throw error;
      });
      return await instance.run(inputs, outputNames);
    } finally {
      if (--this._backgroundRuns === 0 && this._background && !this._released) {
        this._idleTimer = setTimeout(() => void this._endBackground(), BACKGROUND_IDLE_MS);
        this._idleTimer.unref();
      }
    }
  }

  /** The background instance, once started (for tests and diagnostics). */
  get background(): Promise<ModelInstance> | null {
    return this._background;
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
    this._released = true;
    const all = this._instances;
    await Promise.all([...all.map((instance) => instance.release()), this._endBackground()]);
  }

  private async _endBackground(): Promise<void> {
    if (this._idleTimer) clearTimeout(this._idleTimer);
    this._idleTimer = null;
    const background = this._background;
    this._background = null;
    await background?.then((instance) => instance.release(), () => {});
  }

  private _instances: ModelInstance[] = [];
  private _background: Promise<ModelInstance> | null = null;
  private _backgroundRuns = 0;
  private _idleTimer: NodeJS.Timeout | null = null;
  private _released = false;
}

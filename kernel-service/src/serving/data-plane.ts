/**
 * The transport-free data plane that REST and WebSocket share: route a request, check its
 * tensors against the signature, run it, mirror it to shadow versions, record metrics,
 * and tell observers (live stats, monitoring) what happened.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ServiceError, asServiceError } from '../errors.js';
import type { Transport } from '../metrics.js';
import type { Tensor } from '../protocol/datatypes.js';
import type { IntegrityPolicy, IntegrityReport } from '../protocol/integrity.js';
import { type RequestTensor, inspectRequest, isUndecoded } from './admission.js';
import { checkInputs, selectOutputs } from '../runtime/signature.js';
import type { LoadedVersion } from './loaded-version.js';
import type { ModelServer, Route } from './model-server.js';

export interface InferInput {
  /** The request id; generated when absent. Ground truth is joined to predictions by it. */
  id?: string;
  /** Decoded tensors, or JSON inputs kept raw because their elements did not fit (integrity coerces them). */
  inputs: readonly RequestTensor[];
  /** Output names to return; all when absent. */
  outputs?: ReadonlyArray<{ name: string }>;
  /** False for evaluation traffic (a validation run): answered and in metrics, not in monitoring. */
  monitor?: boolean;
  /** Run on the version's background instance, at low priority (replays; never set from a request). */
  background?: boolean;
}

export interface InferResult {
  modelName: string;
  modelVersion: number;
  id: string;
  outputs: Tensor[];
}

/** What observers learn of each inference (shadow runs included, marked as such). */
export interface InferenceEvent {
  model: string;
  version: number;
  requestId: string;
  transport: Transport;
  shadow: boolean;
  /** False for evaluation traffic, which monitoring leaves out. */
  monitored: boolean;
  inputs: readonly Tensor[];
  outputs: readonly Tensor[] | null;
  error: ServiceError | null;
  latencyMs: number;
  at: number;
  /** The request's data integrity against this version (null when it failed before the check). */
  integrity: IntegrityReport | null;
  /** Kept by the deployment's capture: for this many days (0: not kept). Shadow runs share their request's choice. */
  captureDays: number;
}

export type InferenceObserver = (event: InferenceEvent) => void;

/** A request a transport accepted before its body was read; in flight until released. */
export interface Admission {
  release(): void;
}

export class DataPlane {
  constructor(private readonly _server: ModelServer) {}

  /** Requests being answered now (graceful shutdown waits for them). */
  get inflight(): number {
    return this._inflight;
  }

  observe(observer: InferenceObserver): () => void {
    this._observers.push(observer);
    return () => {
      this._observers = this._observers.filter((o) => o !== observer);
    };
  }

  /** Refuses new requests from now on; resolves once those in flight have finished. */
  drain(): Promise<void> {
    this._closing = true;
    if (this._inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this._drainWaiters.push(resolve));
  }

  /**
   * Counts a request as in flight from its arrival, while its body is still being read:
   * drain waits for it, and `infer` with the admission serves it even once shutdown began.
   */
  admit(): Admission {
    if (this._closing) throw new ServiceError('NBD_ERR_SHUTTING_DOWN');
    this._inflight++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this._finished();
      }
    };
  }

  async infer(model: string, version: number | undefined, request: InferInput, transport: Transport, admission?: Admission): Promise<InferResult> {
    if (this._closing && !admission) throw new ServiceError('NBD_ERR_SHUTTING_DOWN');
    this._inflight++;
    try {
      const route = this._server.route(model, version, request.monitor === false);
      const { target, shadows, integrity, capture } = route instanceof Promise ? await route : (route as Route);
      const id = request.id ?? timeOrderedId();
      // A sampled request is kept with its shadows' answers, so that they compare row by row.
      const captureDays = capture && request.monitor !== false && Math.random() < capture.rate ? capture.retentionDays : 0;
      const outputs = await this._run(target, id, request, transport, false, integrity, captureDays);
      for (const shadow of shadows) {
        // Shadows answer nobody: their results and failures only reach metrics and observers.
        this._run(shadow, id, request, transport, true, integrity, captureDays).catch(() => {});
      }
      return { modelName: model, modelVersion: target.version, id, outputs };
    } finally {
      this._finished();
    }
  }

  private _finished(): void {
    if (--this._inflight === 0 && this._drainWaiters.length > 0) {
      for (const resolve of this._drainWaiters.splice(0)) resolve();
    }
  }

  private async _run(
    target: LoadedVersion,
    requestId: string,
    request: InferInput,
    transport: Transport,
    shadow: boolean,
    policy: IntegrityPolicy,
    captureDays: number
  ): Promise<Tensor[]> {
    const start = performance.now();
    let inputs: Tensor[] = request.inputs.filter((t): t is Tensor => !isUndecoded(t));
    let integrity: IntegrityReport | null = null;
    try {
      // Integrity first: it coerces, fills and drops what the policy serves, and says what it refuses.
      const inspection = inspectRequest(target.integrity, policy, request.inputs);
      inputs = inspection.inputs;
      integrity = inspection.report;
      if (inspection.refusal) throw inspection.refusal;
      inputs = checkInputs(target.model, target.signature, inputs);
      const outputNames = selectOutputs(target.model, target.signature, request.outputs);
      const outputs = await target.predict(inputs, outputNames, request.background === true).catch((error: unknown) => {
        if (error instanceof ServiceError) throw error; // a full queue
        throw new ServiceError('NBD_ERR_INFERENCE_FAILED', {
          model: target.model,
          version: target.version,
          reason: error instanceof Error ? error.message : String(error)
        });
      });
      const latencyMs = performance.now() - start;
      target.metrics.latency.observe(latencyMs / 1000);
      target.metrics.ok[transport].inc();
      target.metrics.rows.inc(inputs[0]?.shape[0] ?? 1);
      this._notify(target, requestId, transport, shadow, request.monitor !== false, inputs, outputs, null, latencyMs, integrity, captureDays);
      return outputs;
    } catch (error) {
      const failure = asServiceError(error);
      target.metrics.failed[transport].inc();
      target.metrics.error(failure.code);
      this._notify(target, requestId, transport, shadow, request.monitor !== false, inputs, null, failure, performance.now() - start, integrity, captureDays);
      throw failure;
    }
  }

  private _notify(
    target: LoadedVersion,
    requestId: string,
    transport: Transport,
    shadow: boolean,
    monitored: boolean,
    inputs: readonly Tensor[],
    outputs: readonly Tensor[] | null,
    error: ServiceError | null,
    latencyMs: number,
    integrity: IntegrityReport | null,
    captureDays: number
  ): void {
    if (this._observers.length === 0) return;
    const event: InferenceEvent = {
      model: target.model,
      version: target.version,
      requestId,
      transport,
      shadow,
      monitored,
      inputs,
      outputs,
      error,
      latencyMs,
      at: Date.now(),
      integrity,
      captureDays
    };
    for (const observer of this._observers) {
      try {
        observer(event);
      } catch {
        // An observer's failure must never fail the request it observes.
      }
    }
  }

  private _observers: InferenceObserver[] = [];
  private _inflight = 0;
  private _closing = false;
  private _drainWaiters: Array<() => void> = [];
}

/**
 * A request id when the client gives none: a UUIDv7 (RFC 9562) — the time in ms, then random
 * bits — rather than a random UUIDv4. Ids made one after another sort one after another, so
 * the predictions log's index on request ids grows at its end instead of at random pages
 * (measured: about a sixth of the cost per logged row on a large log).
 */
export function timeOrderedId(now = Date.now()): string {
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, V the variant
  if (now !== idTime.at) {
    const hex = now.toString(16).padStart(12, '0');
    idTime = { at: now, prefix: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7` };
  }
  return idTime.prefix + random.slice(15);
}

/** The time part of the last id made (many ids share a millisecond). */
let idTime = { at: -1, prefix: '' };

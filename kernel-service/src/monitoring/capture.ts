/**
 * Capture, the monitoring worker's side: requests the data plane sampled for their
 * deployment's capture (`captureDays` > 0) are kept with their answers — shadow versions'
 * answers too, under the same request id — buffered and written with ingest's flushes, and
 * dropped when their retention ends. Values of features the model card flags as personal data
 * are never stored in clear: each becomes a salted hash (HMAC-SHA256 keyed with the store's
 * secret salt, 32 hex digits), so that equal values stay equal and can be counted, but not read.
 */
import { createHmac } from 'node:crypto';
import type { Tensor } from '../protocol/datatypes.js';
import type { CaptureQuery, CaptureStore, CapturedRequest, CapturedTensor } from './capture-store.js';
import type { CaptureSink, ObservedInference } from './ingest.js';
import { type VersionPlan, inputColumns } from './version-plan.js';

const DAY_MS = 24 * 3600 * 1000;

export class Capture implements CaptureSink {
  constructor(private readonly _store: CaptureStore) {}

  /** Keeps a sampled inference (answered ones only: a failed request has no answer to compare). */
  add(event: ObservedInference, plan: VersionPlan): void {
    const days = event.captureDays ?? 0;
    if (days <= 0 || event.error || !event.outputs) return;
    const inputs = event.inputs.map((t) => this._captured(t, personalColumns(plan, t, event.inputs.length)));
    this._pending.push({
      model: event.model,
      version: event.version,
      requestId: event.requestId,
      at: event.at,
      shadow: event.shadow,
      rows: rowsOf(event.inputs),
      latencyMs: event.latencyMs,
      expiresAt: event.at + days * DAY_MS,
      inputs,
      outputs: event.outputs.map((t) => this._captured(t, null))
    });
  }

  /** How many captured requests wait for the next write. */
  get pending(): number {
    return this._pending.length;
  }

  /** Writes what is buffered (called inside ingest's flush transaction). */
  async write(): Promise<void> {
    if (this._pending.length === 0) return;
    await this._store.append(this._pending.splice(0));
  }

  /** The captured requests of a query, those still buffered included. */
  async read(query: CaptureQuery): Promise<CapturedRequest[]> {
    await this.write();
    return this._store.read(query);
  }

  /** Keeps ground truth given for captured requests (others are not kept). */
  async recordTruth(model: string, items: ReadonlyArray<{ key: string; truth: unknown }>): Promise<void> {
    await this.write();
    await this._store.recordTruth(model, items);
  }

  /** The ground truth kept for these feedback keys. */
  truthOf(model: string, keys: readonly string[]): Promise<Map<string, unknown>> {
    return this._store.truthOf(model, keys);
  }

  /** Drops requests past their retention. */
  async prune(now: number): Promise<void> {
    await this._store.prune(now);
  }

  /** Reads the store's salt, which `add` hashes personal data with; before the first `add`. */
  async open(): Promise<void> {
    this._salt ??= await this._store.salt();
  }

  /** A value as personal data is kept: its salted hash (after `open`). */
  hashOf(value: string): string {
    return this._hash(value);
  }

  private _captured(t: Tensor, hashed: number[] | 'all' | null): CapturedTensor {
    const data = Array.from(t.data as ArrayLike<number | string | bigint | boolean>, plain);
    const out: CapturedTensor = { name: t.name, datatype: t.datatype, shape: [...t.shape], data };
    if (hashed === null || hashed.length === 0) return out;
    const width = t.shape.length === 2 ? t.shape[1]! : 1;
    const columns = hashed === 'all' ? [...Array(width).keys()] : hashed;
    const flagged = new Set(columns);
    for (let i = 0; i < data.length; i++) {
      if ((hashed === 'all' || flagged.has(i % width)) && data[i] !== null) data[i] = this._hash(String(data[i]));
    }
    out.hashed = columns;
    return out;
  }

  private _hash(value: string): string {
    if (!this._salt) throw new Error('capture: open() reads the salt before requests are added');
    return createHmac('sha256', this._salt).update(value).digest('hex').slice(0, 32);
  }

  private readonly _pending: CapturedRequest[] = [];
  private _salt: Buffer | null = null;
}

/** Which columns of an input hold personal data: every one when the input itself is flagged. */
function personalColumns(plan: VersionPlan, t: Tensor, inputCount: number): number[] | 'all' | null {
  if (plan.personal.size === 0) return null;
  if (plan.personal.has(t.name)) return 'all';
  const columns = inputColumns(plan, t, inputCount);
  // Without a training profile the columns cannot be told apart: the whole input is hashed.
  if (!columns) return 'all';
  const out: number[] = [];
  columns.forEach((c, j) => {
    if (plan.personal.has(c.name)) out.push(j);
  });
  return out;
}

/** A value as JSON keeps it: missing numbers as null, 64-bit integers as numbers. */
function plain(value: number | string | bigint | boolean): number | string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

function rowsOf(inputs: readonly Tensor[]): number {
  const shape = inputs[0]?.shape;
  return shape && shape.length > 0 ? shape[0]! : 1;
}

/**
 * The request path's side of monitoring: each inference observed is appended to an in-memory
 * ring — its numbers (shape, latency, tensor values) into one Float64Array, its strings
 * (request id, string tensors) into one array, names (models, tensors, features, error codes)
 * interned as numbers — and the ring is handed to the monitoring worker in batches
 * (postMessage, the numbers' buffer transferred rather than copied). The worker reads a batch
 * back into the inferences it describes (`readBatch`) and does everything else there.
 *
 * Appending copies the values and allocates nothing per request beyond the ring's growth.
 * Tensors wider than MAX_FEATURES values per row are left out (monitoring reads at most that
 * many columns of an input, and no output that wide), except in a request the deployment's
 * capture keeps, which is handed over whole.
 */
import type { ServiceError } from '../errors.js';
import { DATATYPES, type Datatype, type Tensor } from '../protocol/datatypes.js';
import type { IntegrityReport, Violation } from '../protocol/integrity.js';
import type { ObservedInference } from './ingest.js';
import { MAX_FEATURES } from './window.js';

/** A batch of observed inferences, as it crosses to the worker. */
export interface RingBatch {
  /** The ring's numbers; only the first `length` are used. */
  numbers: Float64Array;
  length: number;
  strings: string[];
  /** Names interned since the previous batch, in the order of their ids. */
  names: string[];
  /** Integrity violations (rare): the index of the inference in the batch and its list. */
  violations: Array<[number, Violation[]]>;
  events: number;
  rows: number;
}

const SHADOW = 1;
const HAS_OUTPUTS = 2;
const HAS_INTEGRITY = 4;

const NUMBERS = 0;
const STRINGS = 1;
const LEFT_OUT = 2;

const DATATYPE_ID = new Map<Datatype, number>(DATATYPES.map((d, i) => [d, i]));

export class InferenceRing {
  constructor(private readonly _capacity = 1 << 14) {
    this._numbers = new Float64Array(_capacity);
  }

  /** Inferences and rows appended since the last `take`. */
  get events(): number {
    return this._events;
  }

  get rows(): number {
    return this._rows;
  }

  append(event: ObservedInference): void {
    const inputs = event.inputs;
    const outputs = event.outputs;
    const shape = inputs[0]?.shape;
    const rows = shape && shape.length > 0 ? shape[0]! : 1;
    const integrity = event.integrity;
    const captureDays = event.captureDays ?? 0;
    this._reserve(11);
    const n = this._numbers;
    let p = this._length;
    n[p++] = this._id(event.model);
    n[p++] = event.version;
    n[p++] = (event.shadow ? SHADOW : 0) | (outputs ? HAS_OUTPUTS : 0) | (integrity ? HAS_INTEGRITY : 0);
    n[p++] = rows;
    n[p++] = event.latencyMs;
    n[p++] = event.at;
    n[p++] = event.error ? this._id(event.error.code) : -1;
    n[p++] = this._strings.push(event.requestId) - 1;
    n[p++] = inputs.length;
    n[p++] = outputs ? outputs.length : 0;
    n[p++] = captureDays;
    this._length = p;
    // A captured request keeps its tensors whole, however wide.
    const whole = captureDays > 0;
    for (const t of inputs) this._tensor(t, rows, whole);
    if (outputs) for (const t of outputs) this._tensor(t, rows, whole);
    if (integrity) this._integrity(integrity);
    this._events++;
    this._rows += rows;
  }

  /** The batch appended so far (null when empty); the ring starts afresh, in `reuse` when given. */
  take(reuse?: Float64Array): RingBatch | null {
    if (this._events === 0) return null;
    const batch: RingBatch = {
      numbers: this._numbers,
      length: this._length,
      strings: this._strings,
      names: this._newNames,
      violations: this._violations,
      events: this._events,
      rows: this._rows
    };
    this._numbers = reuse && reuse.length >= this._capacity ? reuse : new Float64Array(this._capacity);
    this._length = 0;
    this._strings = [];
    this._newNames = [];
    this._violations = [];
    this._events = 0;
    this._rows = 0;
    return batch;
  }

  /** The names interned and already handed over, in the order of their ids (what a new reader starts with). */
  handedNames(): string[] {
    return [...this._ids.keys()].slice(0, this._ids.size - this._newNames.length);
  }

  private _tensor(t: Tensor, rows: number, whole: boolean): void {
    const data = t.data;
    const count = data.length;
    const wide = !whole && rows > 0 && count / rows > MAX_FEATURES;
    this._reserve(6 + t.shape.length + (wide || Array.isArray(data) ? 0 : count));
    const n = this._numbers;
    let p = this._length;
    n[p++] = this._id(t.name);
    n[p++] = DATATYPE_ID.get(t.datatype)!;
    n[p++] = t.shape.length;
    for (const d of t.shape) n[p++] = d;
    if (wide) {
      n[p++] = LEFT_OUT;
      n[p++] = 0;
    } else if (Array.isArray(data)) {
      n[p++] = STRINGS;
      n[p++] = count;
      n[p++] = this._strings.length;
      for (let i = 0; i < count; i++) this._strings.push(data[i]!);
    } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
      // Integers beyond 2^53 keep their digits as strings (labels are compared as text).
      let exact = true;
      for (let i = 0; i < count && exact; i++) exact = Number.isSafeInteger(Number(data[i]!));
      if (exact) {
        n[p++] = NUMBERS;
        n[p++] = count;
        for (let i = 0; i < count; i++) n[p++] = Number(data[i]!);
      } else {
        n[p++] = STRINGS;
        n[p++] = count;
        n[p++] = this._strings.length;
        for (let i = 0; i < count; i++) this._strings.push(String(data[i]!));
      }
    } else {
      n[p++] = NUMBERS;
      n[p++] = count;
      // A loop: most tensors here are a few values, for which TypedArray.set costs more.
      for (let i = 0; i < count; i++) n[p++] = data[i]!;
    }
    this._length = p;
  }

  private _integrity(report: IntegrityReport): void {
    if (report.violations.length > 0) this._violations.push([this._events, report.violations]);
    this._reserve(1 + 4 * report.nulls.length);
    const n = this._numbers;
    let p = this._length;
    n[p++] = report.nulls.length;
    for (const f of report.nulls) {
      n[p++] = this._id(f.feature);
      n[p++] = f.nulls;
      n[p++] = f.rows;
      n[p++] = f.trainingNullRate ?? NaN;
    }
    this._length = p;
  }

  private _id(name: string): number {
    let id = this._ids.get(name);
    if (id === undefined) {
      id = this._ids.size;
      this._ids.set(name, id);
      this._newNames.push(name);
    }
    return id;
  }

  /** Room for `count` more numbers (a request wider than the ring grows it). */
  private _reserve(count: number): void {
    if (this._length + count <= this._numbers.length) return;
    const grown = new Float64Array(Math.max(this._numbers.length * 2, this._length + count));
    grown.set(this._numbers.subarray(0, this._length));
    this._numbers = grown;
  }

  private _numbers: Float64Array;
  private _length = 0;
  private _strings: string[] = [];
  private _newNames: string[] = [];
  private _violations: Array<[number, Violation[]]> = [];
  private _events = 0;
  private _rows = 0;
  private readonly _ids = new Map<string, number>();
}

/**
 * The inferences of a batch, as the ring was given them (numeric tensor data as arrays of
 * numbers, integer and boolean values included). `names` is the reader's table of interned
 * names, which the batch extends.
 */
export function readBatch(batch: RingBatch, names: string[]): ObservedInference[] {
  names.push(...batch.names);
  const n = batch.numbers;
  const s = batch.strings;
  const violations = new Map(batch.violations);
  const out: ObservedInference[] = [];
  let p = 0;
  const tensor = (): Tensor => {
    const name = names[n[p++]!]!;
    const datatype = DATATYPES[n[p++]!]!;
    const dims = n[p++]!;
    const shape: number[] = [];
    for (let i = 0; i < dims; i++) shape.push(n[p++]!);
    const encoding = n[p++]!;
    const count = n[p++]!;
    let data: Tensor['data'];
    if (encoding === STRINGS) {
      const first = n[p++]!;
      data = s.slice(first, first + count);
    } else if (encoding === NUMBERS) {
      // Plain arrays: cheaper to make than typed-array views for the few values most tensors hold.
      const values = new Array<number>(count);
      for (let i = 0; i < count; i++) values[i] = n[p++]!;
      data = values as unknown as Tensor['data'];
    } else data = [];
    return { name, datatype, shape, data } as Tensor;
  };
  for (let e = 0; e < batch.events; e++) {
    const model = names[n[p++]!]!;
    const version = n[p++]!;
    const flags = n[p++]!;
    p++; // rows: read from the shapes
    const latencyMs = n[p++]!;
    const at = n[p++]!;
    const errorId = n[p++]!;
    const requestId = s[n[p++]!]!;
    const inputCount = n[p++]!;
    const outputCount = n[p++]!;
    const captureDays = n[p++]!;
    const inputs: Tensor[] = [];
    for (let i = 0; i < inputCount; i++) inputs.push(tensor());
    let outputs: Tensor[] | null = null;
    if (flags & HAS_OUTPUTS) {
      outputs = [];
      for (let i = 0; i < outputCount; i++) outputs.push(tensor());
    }
    let integrity: IntegrityReport | null = null;
    if (flags & HAS_INTEGRITY) {
      const count = n[p++]!;
      const nulls: IntegrityReport['nulls'] = [];
      for (let i = 0; i < count; i++) {
        const feature = names[n[p++]!]!;
        const nullCount = n[p++]!;
        const rows = n[p++]!;
        const rate = n[p++]!;
        nulls.push({ feature, nulls: nullCount, rows, trainingNullRate: Number.isNaN(rate) ? null : rate });
      }
      integrity = { violations: violations.get(e) ?? [], nulls };
    }
    out.push({
      model,
      version,
      requestId,
      shadow: (flags & SHADOW) !== 0,
      inputs,
      outputs,
      error: errorId >= 0 ? ({ code: names[errorId]! } as Pick<ServiceError, 'code'>) : null,
      latencyMs,
      at,
      integrity,
      captureDays
    });
  }
  return out;
}

/**
 * Request admission: the data integrity of one request against the version's signature and
 * training profile, and what the deployment's policy does with it (serving decides; monitoring
 * only counts the report it is handed, see monitoring/integrity-counts.ts).
 *
 * Kinds (docs/monitoring.md, "Integrity"): `missing_feature`, `unexpected_feature` (with a
 * likely rename: an unexpected input whose values fit a missing feature), `type_mismatch`
 * (another datatype, numbers sent as strings, comma decimals), `new_category`,
 * `out_of_range` (outside the training [min, max] widened by OUT_OF_RANGE_MARGIN of the
 * range) and `null_spike` (a window-level check, see integrity-counts.ts: this file only
 * counts the nulls of each feature).
 *
 * The deployment's policy says per kind whether a request is refused (a 400 naming the field
 * and kind) or served; served means: coercible values are coerced, a missing input is filled
 * with NaN (float) or "" (BYTES) when its datatype has such a value, an unexpected input is
 * dropped, out-of-range values and new categories go to the model as they are. What cannot
 * be served (a string that is no number, a missing integer input) is refused whatever the
 * policy, with the input error it always had. Every violation is reported, refused or not.
 */
import { Float16Array } from '@petamoriken/float16';
import { ServiceError } from '../errors.js';
import { DATATYPE_INFO, type Datatype, type NumericArray, type Tensor, elementCount, tensorFromJson } from '../protocol/datatypes.js';
import { type FeatureNulls, type IntegrityPolicy, type IntegrityReport, type Violation } from '../protocol/integrity.js';
import { type Signature, type TensorSpec, formatShape } from '../runtime/signature.js';

/** The training range [min, max] is widened by this share of (max - min) on each side. */
export const OUT_OF_RANGE_MARGIN = 0.1;

/**
 * A JSON input whose elements did not all fit its declared datatype, kept with its raw
 * values so that format problems ("1,5", numbers as strings) can be seen and coerced once
 * the version's signature is known.
 */
export interface UndecodedInput {
  name: string;
  datatype: Datatype;
  shape: number[];
  values: unknown[];
  /** The decoding error, answered when the values cannot be coerced either. */
  problem: ServiceError;
}

export type RequestTensor = Tensor | UndecodedInput;

export function isUndecoded(input: RequestTensor): input is UndecodedInput {
  return 'values' in input;
}

/**
 * Decodes an OIP JSON input; an input whose elements do not fit its datatype is kept
 * undecoded (a wrong element count is still refused here: no coercion repairs it).
 */
export function decodeJsonInput(name: string, datatype: Datatype, shape: number[], data: unknown[]): RequestTensor {
  try {
    return tensorFromJson(name, datatype, shape, data);
  } catch (error) {
    const values = data.length > 0 && Array.isArray(data[0]) ? (data as unknown[]).flat(Infinity) : data;
    if (!(error instanceof ServiceError) || values.length !== elementCount(shape)) throw error;
    return { name, datatype, shape, values, problem: error };
  }
}

interface FeatureProfile {
  name: string;
  kind: 'numeric' | 'categorical';
  /** Widened training range (numeric features with a finite min and max). */
  low: number | null;
  high: number | null;
  min: number | null;
  max: number | null;
  /** Training categories (null when the profile kept only the most frequent ones). */
  categories: Set<string> | null;
  nullRate: number | null;
  /** Flagged as personal data by the model card. */
  personal: boolean;
}

/** How a version's inputs map to profile features; built once per loaded version. */
export class IntegrityPlan {
  readonly features = new Map<string, FeatureProfile>();
  readonly featureOrder: string[] = [];

  constructor(
    readonly model: string,
    readonly signature: Signature,
    profile: Record<string, unknown> | undefined,
    /** Features the model card flags as personal data: their values never appear in a detail. */
    readonly personal: ReadonlySet<string> = new Set()
  ) {
    const features = (profile?.features ?? {}) as Record<string, Record<string, unknown>>;
    for (const [name, spec] of Object.entries(features)) {
      const min = finiteOrNull(spec.min);
      const max = finiteOrNull(spec.max);
      let low: number | null = null;
      let high: number | null = null;
      if (min !== null && max !== null) {
        const margin = max > min ? OUT_OF_RANGE_MARGIN * (max - min) : OUT_OF_RANGE_MARGIN * Math.max(Math.abs(min), 1);
        low = min - margin;
        high = max + margin;
      }
      const cats = spec.categories && typeof spec.categories === 'object' ? Object.keys(spec.categories as object) : null;
      const truncated = typeof spec.other_rate === 'number' && spec.other_rate > 0;
      this.features.set(name, {
        name,
        kind: spec.kind === 'categorical' ? 'categorical' : 'numeric',
        low,
        high,
        min,
        max,
        categories: cats && cats.length > 0 && !truncated ? new Set(cats) : null,
        personal: personal.has(name),
        nullRate: finiteOrNull(spec.null_rate)
      });
      this.featureOrder.push(name);
    }
  }

  /** The features of an input's columns: its own name, or (one input only) the profile's features in order. */
  columnsOf(spec: TensorSpec, width: number): Array<FeatureProfile | null> | null {
    const own = this.features.get(spec.name);
    if (own && width === 1) return [own];
    if (this.signature.inputs.length === 1 && width > 1 && width === this.featureOrder.length) {
      return this.featureOrder.map((n) => this.features.get(n)!);
    }
    return null;
  }
}

export interface Inspection {
  /** The inputs to run, after coercion, filling and dropping (when not refused). */
  inputs: Tensor[];
  report: IntegrityReport;
  /** The error to answer with; null when the request is served. */
  refusal: ServiceError | null;
}

/**
 * Checks one request's inputs; integrity refusals come back with the report (an input
 * given twice, which no policy serves, throws).
 */
export function inspectRequest(plan: IntegrityPlan, policy: IntegrityPolicy, given: readonly RequestTensor[]): Inspection {
  const { model, signature } = plan;
  const violations: Violation[] = [];
  let refusal: ServiceError | null = null;
  const refuse = (v: Violation): void => {
    if (!refusal && policy[v.kind] === 'refuse') {
      refusal = new ServiceError('NBD_ERR_INTEGRITY_REFUSED', { name: v.feature, kind: v.kind, detail: v.detail });
    }
  };
  const cannotServe = (error: ServiceError): void => {
    refusal ??= error;
  };
  const seen = new Set<string>();
  for (const t of given) {
    if (seen.has(t.name)) throw new ServiceError('NBD_ERR_INPUT_DATA', { name: t.name, reason: 'the input is given twice' });
    seen.add(t.name);
  }
  const rows = rowsOf(given);
  const specs = new Map(signature.inputs.map((s) => [s.name, s]));
  const known = new Map<string, RequestTensor>();
  const unexpected: RequestTensor[] = [];
  for (const t of given) {
    if (specs.has(t.name)) known.set(t.name, t);
    else unexpected.push(t);
  }
  const missing = signature.inputs.filter((s) => !known.has(s.name));

  // Unexpected inputs, with a rename guess against the missing ones.
  const renamedTo = new Map<string, string>();
  for (const t of unexpected) {
    const target = missing.find((s) => !renamedTo.has(s.name) && fitsFeature(plan, s, t));
    if (target) renamedTo.set(target.name, t.name);
    const v: Violation = {
      kind: 'unexpected_feature',
      feature: t.name,
      detail: target
        ? `"${t.name}" is not an input of model "${model}"; its values fit the missing input "${target.name}" (likely renamed)`
        : `"${t.name}" is not an input of model "${model}", which takes ${describeSpecs(signature.inputs)}`,
      rows,
      served: 'dropped',
      refused: false
    };
    violations.push(v);
    refuse(v);
  }

  const inputs: Tensor[] = [];
  for (const spec of signature.inputs) {
    const t = known.get(spec.name);
    if (!t) {
      const fill = fillFor(spec, rows);
      const renamed = renamedTo.get(spec.name);
      const v: Violation = {
        kind: 'missing_feature',
        feature: spec.name,
        detail:
          `missing input "${spec.name}": model "${model}" expects ${describeSpecs([spec])}` +
          (renamed ? `; "${renamed}" was sent instead (likely renamed)` : ''),
        rows,
        served: fill ? `filled with ${spec.datatype === 'BYTES' ? '""' : 'NaN'}` : 'cannot be filled',
        refused: false
      };
      violations.push(v);
      if (fill) {
        refuse(v);
        inputs.push(fill);
      } else {
        cannotServe(new ServiceError('NBD_ERR_INPUT_MISSING', { name: spec.name, model, expected: describeSpecs([spec]) + (renamed ? `; "${renamed}" was sent instead (likely renamed)` : '') }));
        inputs.push({ name: spec.name, datatype: spec.datatype, shape: [rows], data: [] });
      }
      continue;
    }
    if (!isUndecoded(t) && t.datatype === spec.datatype) {
      inputs.push(t);
      continue;
    }
    const coerced = coerce(t, spec.datatype);
    const detail = plan.personal.has(spec.name) ? `values that are not ${spec.datatype}${PERSONAL}` : coerced.detail;
    if (coerced.tensor === null) {
      violations.push({ kind: 'type_mismatch', feature: spec.name, detail, rows, served: 'cannot be coerced', refused: false });
      cannotServe(
        isUndecoded(t) && t.datatype === spec.datatype
          ? t.problem
          : new ServiceError('NBD_ERR_INPUT_DATATYPE', { name: spec.name, model, actual: t.datatype, expected: spec.datatype })
      );
      inputs.push(isUndecoded(t) ? { name: t.name, datatype: spec.datatype, shape: t.shape, data: [] } : t);
      continue;
    }
    if (coerced.rows > 0) {
      const v: Violation = { kind: 'type_mismatch', feature: spec.name, detail, rows: coerced.rows, served: `coerced to ${spec.datatype}`, refused: false };
      violations.push(v);
      refuse(v);
    }
    inputs.push(coerced.tensor);
  }

  // Values: nulls, out-of-range numbers, new categories.
  const nulls: FeatureNulls[] = [];
  if (plan.features.size > 0) {
    signature.inputs.forEach((spec, k) => {
      const t = inputs[k]!;
      if (t.data.length === 0 || !known.has(spec.name)) return;
      const n = t.shape.length > 0 ? t.shape[0]! : 1;
      const width = n > 0 ? t.data.length / n : 0;
      if (!Number.isInteger(width) || width < 1) return;
      const columns = plan.columnsOf(spec, width);
      if (!columns) return;
      columns.forEach((feature, j) => {
        if (!feature) return;
        const found = checkColumn(t, n, width, j, feature);
        nulls.push({ feature: feature.name, nulls: found.nulls, rows: n, trainingNullRate: feature.nullRate });
        for (const v of found.violations) {
          violations.push(v);
          refuse(v);
        }
      });
    });
  }
  if (refusal) for (const v of violations) v.refused = true;
  return { inputs, report: { violations, nulls }, refusal };
}

function checkColumn(t: Tensor, rows: number, width: number, j: number, f: FeatureProfile): { nulls: number; violations: Violation[] } {
  const data = t.data;
  const strings = Array.isArray(data);
  const floats = t.datatype === 'FP16' ? new Float16Array((data as Uint16Array).buffer, (data as Uint16Array).byteOffset, data.length) : null;
  let nulls = 0;
  let outside = 0;
  let firstOutside: number | null = null;
  let fresh = 0;
  let firstFresh: string | null = null;
  for (let i = 0; i < rows; i++) {
    const raw = floats ? floats[i * width + j]! : data[i * width + j]!;
    if (strings ? raw === '' : typeof raw === 'number' && Number.isNaN(raw)) {
      nulls++;
      continue;
    }
    if (f.kind === 'numeric' && f.low !== null && !strings) {
      const x = Number(raw);
      if (x < f.low || x > f.high!) {
        outside++;
        firstOutside ??= x;
      }
    } else if (f.kind === 'categorical' && f.categories) {
      const c = String(raw);
      if (!f.categories.has(c)) {
        fresh++;
        firstFresh ??= c;
      }
    }
  }
  const violations: Violation[] = [];
  if (outside > 0) {
    violations.push({
      kind: 'out_of_range',
      feature: f.name,
      detail: `${outside} value(s) outside the training range [${f.min}, ${f.max}] widened by ${OUT_OF_RANGE_MARGIN * 100}%${example(f, shown(firstOutside!))}`,
      rows: outside,
      served: 'as sent',
      refused: false
    });
  }
  if (fresh > 0) {
    violations.push({
      kind: 'new_category',
      feature: f.name,
      detail: `${fresh} value(s) in categories not seen in training${example(f, quote(firstFresh))}`,
      rows: fresh,
      served: 'as sent',
      refused: false
    });
  }
  return { nulls, violations };
}

/** Whether an unexpected input could be the missing `spec` renamed: same width, values that fit its profile. */
function fitsFeature(plan: IntegrityPlan, spec: TensorSpec, t: RequestTensor): boolean {
  const specWidth = spec.shape.length === 2 ? spec.shape[1]! : spec.shape.length === 1 ? 1 : -1;
  const width = t.shape.length === 2 ? t.shape[1]! : t.shape.length === 1 ? 1 : -2;
  if (specWidth !== -1 && specWidth !== width) return false;
  if (t.shape.length !== spec.shape.length) return false;
  const feature = plan.features.get(spec.name);
  const values: unknown[] = isUndecoded(t) ? t.values : Array.from(t.data as ArrayLike<unknown>);
  if (!feature) {
    // No profile: the datatype (or numbers for a numeric input) is the only evidence.
    return t.datatype === spec.datatype || (spec.datatype !== 'BYTES' && values.every((v) => parseNumber(v) !== null));
  }
  if (feature.kind === 'categorical') {
    return feature.categories !== null && values.length > 0 && values.every((v) => v === '' || v === null || feature.categories!.has(String(v)));
  }
  if (feature.low === null) return false;
  let any = false;
  for (const v of values) {
    const x = parseNumber(v);
    if (x === null) return false;
    if (Number.isNaN(x)) continue;
    if (x < feature.low || x > feature.high!) return false;
    any = true;
  }
  return any;
}

/** A missing input's fill: NaN for float inputs, "" for BYTES; null when the datatype has no empty value. */
function fillFor(spec: TensorSpec, rows: number): Tensor | null {
  if (spec.shape.length === 0) return null;
  const shape = spec.shape.map((d, i) => (d !== -1 ? d : i === 0 ? rows : 1));
  const count = elementCount(shape);
  if (spec.datatype === 'BYTES') return { name: spec.name, datatype: 'BYTES', shape, data: new Array<string>(count).fill('') };
  if (spec.datatype === 'FP32' || spec.datatype === 'FP64') {
    const data = spec.datatype === 'FP32' ? new Float32Array(count) : new Float64Array(count);
    data.fill(NaN);
    return { name: spec.name, datatype: spec.datatype, shape, data };
  }
  if (spec.datatype === 'FP16') {
    const data = new Uint16Array(count);
    new Float16Array(data.buffer).fill(NaN);
    return { name: spec.name, datatype: 'FP16', shape, data };
  }
  return null;
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const COMMA_DECIMAL = /^[+-]?\d+,\d+$/;
const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** A JSON value read as a number: numbers, numeric text, comma decimals; NaN for null/""; null when it is none. */
function parseNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v === null || v === '') return NaN;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (s in NON_FINITE) return NON_FINITE[s]!;
  if (NUMBER_TEXT.test(s)) return Number(s);
  if (COMMA_DECIMAL.test(s)) return Number(s.replace(',', '.'));
  return null;
}

/** Why a value needed coercion to a number, for the violation's detail; null when it needed none. */
function formatOf(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (COMMA_DECIMAL.test(s)) return `comma decimals (${quote(v)} read as ${s.replace(',', '.')})`;
  if (s !== '' && !(s in NON_FINITE)) return `numbers sent as strings (${quote(v)})`;
  return null;
}

/**
 * The tensor as `datatype`, counting the rows whose values needed coercion; tensor null
 * (with the reason) when some value has no faithful reading in that datatype.
 */
function coerce(t: RequestTensor, datatype: Datatype): { tensor: Tensor | null; rows: number; detail: string } {
  const values: unknown[] = isUndecoded(t) ? t.values : tensorElements(t);
  const count = values.length;
  const n = t.shape.length > 0 ? t.shape[0]! : 1;
  const width = n > 0 ? Math.max(1, count / n) : 1;
  const sentAs = t.datatype === datatype ? '' : `datatype ${t.datatype} sent, ${datatype} expected`;
  let firstFormat: string | null = null;
  let rows = 0;
  let lastRow = -1;
  const mark = (i: number, why: string | null): void => {
    if (why) firstFormat ??= why;
    const r = Math.floor(i / width);
    if (r !== lastRow) {
      lastRow = r;
      rows++;
    }
  };
  const fail = (i: number): { tensor: null; rows: number; detail: string } => {
    return { tensor: null, rows: n, detail: `element ${i} is ${quote(values[i])}, which no ${datatype} value stands for` };
  };
  const wholeTensor = sentAs !== '';
  if (datatype === 'BYTES') {
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (typeof v === 'string') out[i] = v;
      else if (v === null) out[i] = '';
      else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') {
        out[i] = String(v);
        if (!wholeTensor) mark(i, `numbers sent for a string input (${String(v)})`);
      } else return fail(i);
    }
    return done({ name: t.name, datatype, shape: t.shape, data: out }, wholeTensor ? n : rows, sentAs, firstFormat);
  }
  if (datatype === 'BOOL') {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (typeof v === 'boolean') out[i] = v ? 1 : 0;
      else if (v === 'true' || v === 'false') {
        out[i] = v === 'true' ? 1 : 0;
        mark(i, `booleans sent as strings (${quote(v)})`);
      } else if (typeof v === 'number' && (v === 0 || v === 1) && wholeTensor) out[i] = v;
      else return fail(i);
    }
    return done({ name: t.name, datatype, shape: t.shape, data: out }, wholeTensor ? n : rows, sentAs, firstFormat);
  }
  const info = DATATYPE_INFO[datatype];
  const isFloat = datatype.startsWith('FP');
  const out = new info.array!(count);
  const floats = datatype === 'FP16' ? new Float16Array(out.buffer) : null;
  for (let i = 0; i < count; i++) {
    const v = values[i];
    const x = parseNumber(v);
    if (x === null) return fail(i);
    const why = formatOf(v);
    if (why) mark(i, why);
    if (isFloat) {
      if (floats) floats[i] = x;
      else (out as Float32Array | Float64Array)[i] = x;
      continue;
    }
    if (!Number.isInteger(x)) return fail(i);
    if (datatype === 'INT64' || datatype === 'UINT64') {
      const big = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? BigInt(v.trim()) : typeof v === 'bigint' ? v : BigInt(x);
      const [lo, hi] = datatype === 'INT64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      if (big < lo || big > hi) return fail(i);
      (out as BigInt64Array | BigUint64Array)[i] = big;
    } else {
      const [lo, hi] = info.range!;
      if (x < lo || x > hi) return fail(i);
      (out as Exclude<NumericArray, BigInt64Array | BigUint64Array>)[i] = x;
    }
  }
  return done({ name: t.name, datatype, shape: t.shape, data: out }, wholeTensor ? n : rows, sentAs, firstFormat);
}

function done(tensor: Tensor, rows: number, sentAs: string, format: string | null): { tensor: Tensor; rows: number; detail: string } {
  const why = [sentAs, format].filter(Boolean).join(': ') || 'values of another type';
  return { tensor, rows, detail: why };
}

/** A decoded tensor's elements as plain values (FP16 as numbers, BOOL as booleans). */
function tensorElements(t: Tensor): unknown[] {
  if (t.datatype === 'FP16') return Array.from(new Float16Array((t.data as Uint16Array).buffer, (t.data as Uint16Array).byteOffset, t.data.length));
  if (t.datatype === 'BOOL') return Array.from(t.data as Uint8Array, (b) => b !== 0);
  return Array.from(t.data as ArrayLike<unknown>);
}

function rowsOf(inputs: readonly RequestTensor[]): number {
  const shape = inputs[0]?.shape;
  return shape && shape.length > 0 ? shape[0]! : 1;
}

/** A client's value in a detail: JSON, at most 40 characters (details are stored with every window). */
function quote(v: unknown): string {
  const shown = JSON.stringify(v) ?? String(v);
  return shown.length > 40 ? shown.slice(0, 40) + '…' : shown;
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function describeSpecs(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}" (${s.datatype} ${formatShape(s.shape)})`).join(', ');
}

/**
 * A value as a reader would write it: 7 significant digits, which is what a 32-bit float holds
 * (an FP32 14.9 reads back as 14.899999618530273 in double precision).
 */
function shown(x: number): number {
  return Number(x.toPrecision(7));
}

/** A detail's example value, or none for personal data (the detail reaches status, charts and alerts). */
function example(f: FeatureProfile, value: string | number): string {
  return f.personal ? PERSONAL : ` (e.g. ${value})`;
}

/** What a detail says in place of the values of personal data. */
const PERSONAL = ' (values not shown: personal data)';

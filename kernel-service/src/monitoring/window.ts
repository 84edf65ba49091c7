/**
 * One monitoring window of one model version: operations (requests, errors by code, rows,
 * latency sketch) for served and shadow traffic apart, the values served — per feature
 * and for the predictions — in bounded accumulators, and data-integrity counts. Windows
 * merge and go to JSON whole, so any span is the merge of its windows.
 */
import {
  type ReservoirState,
  type ValueAccumulator,
  type ValueAccumulatorState,
  accumulatorFromJSON,
  accumulatorToJSON,
  hashSeed,
  mergeAccumulator,
  newAccumulator
} from './accumulators.js';
import type { IntegrityKind } from '../protocol/integrity.js';
import { type FeatureIntegrityState, IntegrityCounts } from './integrity-counts.js';
import { LatencySketch, type LatencySketchState } from './latency-sketch.js';

/** Features accumulated per window at most (a profile with more: the first ones). */
export const MAX_FEATURES = 1000;

export class Ops {
  requests = 0;
  errors = 0;
  rows = 0;
  readonly errorsByCode: Record<string, number> = {};
  readonly latency = new LatencySketch();

  add(rows: number, latencyMs: number, errorCode: string | null): void {
    this.requests++;
    this.rows += rows;
    if (errorCode !== null) {
      this.errors++;
      this.errorsByCode[errorCode] = (this.errorsByCode[errorCode] ?? 0) + 1;
    }
    if (Number.isFinite(latencyMs) && latencyMs >= 0) this.latency.add(latencyMs);
  }

  merge(other: Ops | OpsState): void {
    this.requests += other.requests;
    this.errors += other.errors;
    this.rows += other.rows;
    for (const [code, n] of Object.entries(other.errorsByCode)) this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + n;
    this.latency.merge(other.latency instanceof LatencySketch ? other.latency : LatencySketch.fromJSON(other.latency));
  }

  toJSON(): OpsState {
    return { requests: this.requests, errors: this.errors, rows: this.rows, errorsByCode: { ...this.errorsByCode }, latency: this.latency.toJSON() };
  }
}

export interface OpsState {
  requests: number;
  errors: number;
  rows: number;
  errorsByCode: Record<string, number>;
  latency: LatencySketchState;
}

export interface WindowState {
  version: 1;
  model: string;
  modelVersion: number;
  /** Window start, ms since the epoch (a multiple of `seconds`). */
  start: number;
  seconds: number;
  served: OpsState;
  shadow: OpsState;
  features: Record<string, ValueAccumulatorState>;
  prediction: ValueAccumulatorState | null;
  /** Values each data-integrity kind concerned in served requests (absent in windows stored before it was counted). */
  integrity?: Record<IntegrityKind, number>;
  /** The same per input or feature, with its nulls and the latest detail. */
  integrityFeatures?: Record<string, FeatureIntegrityState>;
}

export class MonitorWindow {
  readonly served = new Ops();
  readonly shadow = new Ops();
  readonly features = new Map<string, ValueAccumulator>();
  prediction: ValueAccumulator | null = null;
  readonly integrity = new IntegrityCounts();

  constructor(
    readonly model: string,
    readonly version: number,
    readonly start: number,
    readonly seconds: number
  ) {}

  get end(): number {
    return this.start + this.seconds * 1000;
  }

  /** The feature's accumulator, created on first use (null past MAX_FEATURES). */
  feature(name: string, kind: 'numeric' | 'categorical'): ValueAccumulator | null {
    let a = this.features.get(name);
    if (!a) {
      if (this.features.size >= MAX_FEATURES) return null;
      a = newAccumulator(kind, hashSeed(`${this.model}/${this.version}/${name}/${this.start}`));
      this.features.set(name, a);
    }
    return a;
  }

  predictions(kind: 'numeric' | 'categorical'): ValueAccumulator {
    return (this.prediction ??= newAccumulator(kind, hashSeed(`${this.model}/${this.version}/prediction/${this.start}`)));
  }

  merge(state: WindowState): void {
    this.served.merge(state.served);
    this.shadow.merge(state.shadow);
    for (const [name, s] of Object.entries(state.features)) {
      const into = this.feature(name, s.kind);
      if (into) mergeAccumulator(into, s);
    }
    if (state.prediction) mergeAccumulator(this.predictions(state.prediction.kind), state.prediction);
    if (state.integrity) this.integrity.merge({ counts: state.integrity, features: state.integrityFeatures ?? {} });
  }

  /**
   * Merges many states (a span's blocks and windows): what merging them one by one gives,
   * except that each numeric sample is drawn once from all of them (Reservoir.mergeAll).
   */
  mergeAll(states: readonly WindowState[]): void {
    const samples = new Map<ValueAccumulator, ReservoirState[]>();
    const later = (into: ValueAccumulator | null, s: ValueAccumulatorState): void => {
      if (!into) return;
      if (into.kind !== 'numeric' || s.kind !== 'numeric') return mergeAccumulator(into, s);
      let list = samples.get(into);
      if (!list) samples.set(into, (list = []));
      list.push(s.reservoir);
    };
    for (const state of states) {
      this.served.merge(state.served);
      this.shadow.merge(state.shadow);
      for (const [name, s] of Object.entries(state.features)) later(this.feature(name, s.kind), s);
      if (state.prediction) later(this.predictions(state.prediction.kind), state.prediction);
      if (state.integrity) this.integrity.merge({ counts: state.integrity, features: state.integrityFeatures ?? {} });
    }
    for (const [into, list] of samples) if (into.kind === 'numeric') into.reservoir.mergeAll(list);
  }

  toJSON(): WindowState {
    return {
      version: 1,
      model: this.model,
      modelVersion: this.version,
      start: this.start,
      seconds: this.seconds,
      served: this.served.toJSON(),
      shadow: this.shadow.toJSON(),
      features: Object.fromEntries([...this.features].map(([k, a]) => [k, accumulatorToJSON(a)])),
      prediction: this.prediction ? accumulatorToJSON(this.prediction) : null,
      integrity: { ...this.integrity.counts },
      integrityFeatures: this.integrity.toJSON().features
    };
  }

  static fromJSON(state: WindowState): MonitorWindow {
    const w = new MonitorWindow(state.model, state.modelVersion, state.start, state.seconds);
    w.served.merge(state.served);
    w.shadow.merge(state.shadow);
    for (const [name, s] of Object.entries(state.features)) {
      w.features.set(name, accumulatorFromJSON(s, hashSeed(`${state.model}/${state.modelVersion}/${name}/${state.start}`)));
    }
    w.prediction = state.prediction ? accumulatorFromJSON(state.prediction, hashSeed(`${state.model}/prediction`)) : null;
    if (state.integrity) w.integrity.merge({ counts: state.integrity, features: state.integrityFeatures ?? {} });
    return w;
  }
}

/** A stored window and one saved again under the same key (a restart within one window, or a block and its next window): their merge. */
export function mergeWindowStates(stored: WindowState, added: WindowState): WindowState {
  const w = MonitorWindow.fromJSON(stored);
  w.merge(added);
  return w.toJSON();
}

/**
 * Integrity counts of one monitoring window: per kind, the values (rows × features) each
 * kind concerned, refused or served, and the same per feature with the latest detail.
 *
 * `null_spike` is decided here, per window: a feature's null share in the window spikes
 * when the window has at least NULL_SPIKE_MIN_ROWS rows of it, the share is at least
 * NULL_SPIKE_MIN_EXCESS above the training null rate, and a one-sided binomial z-test
 * against the training rate gives z > NULL_SPIKE_Z. From the moment a feature spikes, every
 * null of it in the window counts (those before included).
 */
import { INTEGRITY_KINDS, type IntegrityKind, type IntegrityReport } from '../protocol/integrity.js';

export const NULL_SPIKE_MIN_ROWS = 20;
export const NULL_SPIKE_MIN_EXCESS = 0.05;
export const NULL_SPIKE_Z = 3;
/** Features tracked per window at most (unexpected inputs are named by clients). */
export const MAX_INTEGRITY_FEATURES = 1000;

export interface FeatureIntegrityState {
  counts: Partial<Record<IntegrityKind, number>>;
  /** The latest violation's detail. */
  detail: string | null;
  nulls: number;
  rows: number;
  trainingNullRate: number | null;
  spiking: boolean;
}

export interface IntegrityState {
  counts: Record<IntegrityKind, number>;
  features: Record<string, FeatureIntegrityState>;
}

export function emptyIntegrityCounts(): Record<IntegrityKind, number> {
  return Object.fromEntries(INTEGRITY_KINDS.map((k) => [k, 0])) as Record<IntegrityKind, number>;
}

/** Whether `nulls` of `rows` is far above the training null rate (see the file comment). */
export function isNullSpike(nulls: number, rows: number, trainingRate: number | null): boolean {
  if (rows < NULL_SPIKE_MIN_ROWS) return false;
  const p0 = Math.min(Math.max(trainingRate ?? 0, 0), 1);
  const share = nulls / rows;
  if (share - p0 < NULL_SPIKE_MIN_EXCESS - 1e-12) return false;
  const sd = Math.sqrt((p0 * (1 - p0)) / rows);
  return sd === 0 ? true : (share - p0) / sd > NULL_SPIKE_Z;
}

export class IntegrityCounts {
  readonly counts = emptyIntegrityCounts();
  readonly features = new Map<string, FeatureIntegrityState>();

  /** Adds one request's report. */
  add(report: IntegrityReport): void {
    for (const v of report.violations) {
      this.counts[v.kind] += v.rows;
      const f = this._feature(v.feature);
      if (!f) continue;
      f.counts[v.kind] = (f.counts[v.kind] ?? 0) + v.rows;
      f.detail = `${v.detail}; ${v.refused ? 'request refused' : `served: ${v.served}`}`;
    }
    for (const n of report.nulls) {
      const f = this._feature(n.feature);
      if (!f) continue;
      f.nulls += n.nulls;
      f.rows += n.rows;
      f.trainingNullRate = n.trainingNullRate;
      if (f.spiking) {
        this._countSpike(f, n.nulls);
      } else if (isNullSpike(f.nulls, f.rows, f.trainingNullRate)) {
        f.spiking = true;
        f.detail = `null share ${(f.nulls / f.rows).toFixed(3)} in the window against ${(f.trainingNullRate ?? 0).toFixed(3)} in training; served: as sent`;
        this._countSpike(f, f.nulls);
      }
    }
  }

  merge(state: IntegrityState): void {
    for (const k of INTEGRITY_KINDS) this.counts[k] += state.counts[k] ?? 0;
    for (const [name, s] of Object.entries(state.features)) {
      const f = this._feature(name);
      if (!f) continue;
      for (const [k, n] of Object.entries(s.counts) as Array<[IntegrityKind, number]>) f.counts[k] = (f.counts[k] ?? 0) + n;
      f.detail = s.detail ?? f.detail;
      f.nulls += s.nulls;
      f.rows += s.rows;
      f.trainingNullRate = s.trainingNullRate ?? f.trainingNullRate;
      f.spiking ||= s.spiking;
    }
  }

  toJSON(): IntegrityState {
    return {
      counts: { ...this.counts },
      features: Object.fromEntries([...this.features].map(([k, f]) => [k, { ...f, counts: { ...f.counts } }]))
    };
  }

  private _countSpike(f: FeatureIntegrityState, nulls: number): void {
    if (nulls === 0) return;
    this.counts.null_spike += nulls;
    f.counts.null_spike = (f.counts.null_spike ?? 0) + nulls;
  }

  private _feature(name: string): FeatureIntegrityState | null {
    let f = this.features.get(name);
    if (!f) {
      if (this.features.size >= MAX_INTEGRITY_FEATURES) return null;
      f = { counts: {}, detail: null, nulls: 0, rows: 0, trainingNullRate: null, spiking: false };
      this.features.set(name, f);
    }
    return f;
  }
}

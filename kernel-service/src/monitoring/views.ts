/**
 * Monitoring as the service shows it: the `status` view and its parts, the alert view, and
 * what the live window stream is told once a second. Types shared by the monitor, the alert
 * rules and engine, the series and the live events live here, so that those modules import
 * this file rather than one another (no import circles; see test/import-cycles.test.ts).
 */
import type { IntegrityKind } from '../protocol/integrity.js';
import type { PerformanceMetrics } from './accumulators.js';
import type { DriftMethod } from './drift-statistics.js';
import type { MonitorWindow, Ops } from './window.js';

export interface DriftEntry {
  method: string;
  statistic: number;
  p_value: number | null;
  threshold: number;
  drifted: boolean;
}

export interface OpsView {
  requests: number;
  errors: number;
  error_rate: number | null;
  errors_by_code: Record<string, number>;
  rows: number;
  throughput_per_s: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
}

/** One feature's integrity over the span: counts per kind, its null share, the latest detail. */
export interface FeatureIntegrityView {
  counts: Partial<Record<IntegrityKind, number>>;
  null_share: number | null;
  training_null_rate: number | null;
  detail: string | null;
}

export interface StatusView {
  model: string;
  version: number | null;
  window_seconds: number;
  from: string;
  to: string;
  ops: OpsView;
  /** Values each integrity kind concerned over the span, all versions' served traffic. */
  integrity: Record<IntegrityKind, number>;
  integrity_features: Record<string, FeatureIntegrityView>;
  drift: Record<string, DriftEntry | null>;
  drift_share: number | null;
  prediction_drift: DriftEntry | null;
  performance: PerformanceMetrics & { labelled: number; labelled_share: number | null };
  concept_drift: { detector: string; detected: boolean; at: string | null } | null;
  versions: Array<{ version: number; role: string; ops: OpsView; shadow_requests: number; integrity: Record<IntegrityKind, number> }>;
}

export interface StatusOptions {
  /**
   * false: leave out data drift and prediction drift (`drift` empty, `drift_share` and
   * `prediction_drift` null), which cost most; what the alert rules on operations need.
   */
  drift?: boolean;
  /**
   * The drift test of every feature instead of the default choice (KS / chi-square on
   * references up to 1,000 values, else Wasserstein / Jensen–Shannon), e.g. `psi`; a method
   * that does not apply to a feature's kind leaves that feature to the default.
   */
  driftMethod?: DriftMethod;
  /** Thresholds by method over the defaults (p-value for ks/chisquare, distance or PSI for the others). */
  driftThresholds?: Partial<Record<DriftMethod, number>>;
}

/** An alert as the protocol, the live events and webhooks show it. */
export interface AlertView {
  id: number;
  model: string;
  version: number | null;
  rule: string;
  metric: string;
  severity: string;
  state: 'firing' | 'resolved';
  condition: string;
  value: number;
  threshold: number;
  window_seconds: number;
  fired_at: string;
  resolved_at: string | null;
  resolved_value: number | null;
  message: string;
}

/** Traffic counted in a window: served and shadow requests, all rows and errors, latency of both. */
export interface TrafficCounts {
  requests: number;
  shadowRequests: number;
  errors: number;
  rows: number;
  latencyCount: number;
  latencySum: number;
}

/**
 * What changed in a model's windows since the previous update (updates come at most once a
 * second, from the monitor's timer, never from the inference path): per version with new
 * traffic, its latest window (the open one, or the one that closed since the last update)
 * and the traffic added since. The windows carry their operations (the values served stay
 * with the monitor).
 */
export interface WindowUpdate {
  model: string;
  windowSeconds: number;
  versions: Array<{ version: number; window: MonitorWindow; added: TrafficCounts }>;
  /** The model's open windows (every version's), or when none is open, those that closed since the last update. */
  windows: MonitorWindow[];
}

/** `elsewhere`: models whose traffic other replicas of the service served since the last call (what alert rules also look at). */
export type WindowUpdateListener = (updates: readonly WindowUpdate[], elsewhere: readonly string[]) => void;

/** A window's operations as `status` and the live window stream show them, rates over `seconds`. */
export function opsView(ops: Ops, seconds: number): OpsView {
  return {
    requests: ops.requests,
    errors: ops.errors,
    error_rate: ops.requests > 0 ? ops.errors / ops.requests : null,
    errors_by_code: { ...ops.errorsByCode },
    rows: ops.rows,
    throughput_per_s: ops.rows / seconds,
    latency_ms: { p50: ops.latency.quantile(0.5), p95: ops.latency.quantile(0.95), p99: ops.latency.quantile(0.99) }
  };
}

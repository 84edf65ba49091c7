/**
 * Alert rules: what a rule is (a metric of the monitoring status, a condition and a
 * threshold over a span, a severity, a cool-down), the rules every deployment gets by
 * default, and how a rule reads its metric from a `StatusView`. Pure functions, no I/O.
 */
import type { StatusView } from './views.js';

export const ALERT_METRICS = [
  'drift_share',
  'error_rate',
  'latency_p50_ms',
  'latency_p95_ms',
  'latency_p99_ms',
  'accuracy',
  'precision',
  'recall',
  'f1',
  'roc_auc',
  'mae',
  'rmse',
  'integrity_share',
  'concept_drift'
] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];

export const ALERT_CONDITIONS = ['>', '>=', '<', '<='] as const;
export type AlertCondition = (typeof ALERT_CONDITIONS)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** Metrics of operations: cheap to measure (no drift tests), so their rules are evaluated every second. */
export const OPS_METRICS: ReadonlySet<AlertMetric> = new Set(['error_rate', 'latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms']);

/** Metrics read from `performance`, which a validation report also holds (so `validated` applies). */
export const PERFORMANCE_METRICS: ReadonlySet<AlertMetric> = new Set(['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'mae', 'rmse']);

/**
 * `threshold` is a number, or relative to the version's validation report:
 * `validated`, `validated - 0.05`, `validated + 2`, `validated * 1.2`.
 */
export const RELATIVE_THRESHOLD = /^validated(?:\s*([-+*])\s*(\d+(?:\.\d+)?(?:e[-+]?\d+)?))?$/;

/** A rule as the protocol and the database carry it (snake_case, every field set). */
export interface AlertRule {
  /** Unique per deployment; alerts name their rule by it. */
  name: string;
  metric: AlertMetric;
  condition: AlertCondition;
  threshold: number | string;
  /** The span the metric is measured over, in seconds; null: five monitoring windows. */
  window_seconds: number | null;
  severity: AlertSeverity;
  /** After an alert of this rule resolves, the rule does not fire again for this long. */
  cooldown_seconds: number;
  /** The metric counts only with at least this many requests (ops), labelled rows (performance) or rows (drift, integrity). */
  min_count: number;
  enabled: boolean;
}

/** A rule as a user may give it: the optional fields take the defaults below. */
export type AlertRuleInput = Pick<AlertRule, 'name' | 'metric' | 'condition' | 'threshold'> & Partial<AlertRule>;

export const DEFAULT_COOLDOWN_SECONDS = 300;

/** Per metric: the minimum count when a rule does not say (small samples make noisy metrics). */
export const DEFAULT_MIN_COUNT: Record<AlertMetric, number> = {
  drift_share: 100,
  error_rate: 20,
  latency_p50_ms: 20,
  latency_p95_ms: 20,
  latency_p99_ms: 20,
  accuracy: 100,
  precision: 100,
  recall: 100,
  f1: 100,
  roc_auc: 100,
  mae: 100,
  rmse: 100,
  integrity_share: 100,
  concept_drift: 0
};

/** The rules every deployment has until its own are set. */
export const DEFAULT_RULES: readonly AlertRule[] = [
  rule({ name: 'drift', metric: 'drift_share', condition: '>', threshold: 0.5, severity: 'warning' }),
  rule({ name: 'accuracy', metric: 'accuracy', condition: '<', threshold: 'validated - 0.05', severity: 'critical' }),
  rule({ name: 'error_rate', metric: 'error_rate', condition: '>', threshold: 0.05, severity: 'critical' }),
  rule({ name: 'latency_p99', metric: 'latency_p99_ms', condition: '>', threshold: 500, severity: 'warning' }),
  rule({ name: 'integrity', metric: 'integrity_share', condition: '>', threshold: 0.05, severity: 'warning' })
];

/** A complete rule from what the user gave; throws a RangeError naming what is wrong. */
export function rule(input: AlertRuleInput): AlertRule {
  const out: AlertRule = {
    name: input.name,
    metric: input.metric,
    condition: input.condition,
    threshold: input.threshold,
    window_seconds: input.window_seconds ?? null,
    severity: input.severity ?? 'warning',
    cooldown_seconds: input.cooldown_seconds ?? DEFAULT_COOLDOWN_SECONDS,
    min_count: input.min_count ?? DEFAULT_MIN_COUNT[input.metric],
    enabled: input.enabled ?? true
  };
  if (!(ALERT_METRICS as readonly string[]).includes(out.metric)) {
    throw new RangeError(`rule "${out.name}": unknown metric "${out.metric}"; one of ${ALERT_METRICS.join(', ')}`);
  }
  if (typeof out.threshold === 'string') {
    if (!RELATIVE_THRESHOLD.test(out.threshold.trim())) {
      throw new RangeError(`rule "${out.name}": threshold "${out.threshold}" is neither a number nor like "validated - 0.05"`);
    }
    if (!PERFORMANCE_METRICS.has(out.metric)) {
      throw new RangeError(
        `rule "${out.name}": a threshold relative to the validation report applies to ${[...PERFORMANCE_METRICS].join(', ')}, not ${out.metric}`
      );
    }
  } else if (!Number.isFinite(out.threshold)) {
    throw new RangeError(`rule "${out.name}": the threshold must be a finite number`);
  }
  return out;
}

/** Complete rules from a user's list; names must be unique. */
export function rulesFrom(inputs: readonly AlertRuleInput[]): AlertRule[] {
  const seen = new Set<string>();
  return inputs.map((input) => {
    if (seen.has(input.name)) throw new RangeError(`two rules are named "${input.name}"; rule names must be unique`);
    seen.add(input.name);
    return rule(input);
  });
}

/** The span a rule looks at, in seconds. */
export function ruleWindowSeconds(r: AlertRule, monitorWindowSeconds: number): number {
  return r.window_seconds ?? 5 * monitorWindowSeconds;
}

/**
 * The threshold as a number: itself, or computed from the validated value of the metric.
 * Null when it is relative and the version has no validated value for the metric.
 */
export function resolveThreshold(r: AlertRule, validated: Record<string, unknown> | null | undefined): number | null {
  if (typeof r.threshold === 'number') return r.threshold;
  const base = validated?.[r.metric];
  if (typeof base !== 'number' || !Number.isFinite(base)) return null;
  const m = RELATIVE_THRESHOLD.exec(r.threshold.trim());
  if (!m || !m[1]) return base;
  const x = Number(m[2]);
  return m[1] === '-' ? base - x : m[1] === '+' ? base + x : base * x;
}

export interface Measurement {
  /** Null when there is nothing to measure in the span (no traffic, no ground truth). */
  value: number | null;
  /** What the metric is measured on: requests, labelled rows or rows served. */
  count: number;
}

/**
 * The rule's metric in a status; undefined when the status does not carry it at all (a
 * service without integrity checks, say), in which case the rule does nothing.
 */
export function measure(metric: AlertMetric, status: StatusView): Measurement | undefined {
  const ops = status.ops;
  const described = status.versions.find((v) => v.version === status.version);
  const rows = described?.ops.rows ?? 0;
  switch (metric) {
    case 'error_rate':
      return { value: ops.error_rate, count: ops.requests };
    case 'latency_p50_ms':
      return { value: ops.latency_ms.p50, count: ops.requests };
    case 'latency_p95_ms':
      return { value: ops.latency_ms.p95, count: ops.requests };
    case 'latency_p99_ms':
      return { value: ops.latency_ms.p99, count: ops.requests };
    case 'drift_share':
      return { value: status.drift_share, count: rows };
    case 'concept_drift':
      return status.concept_drift ? { value: status.concept_drift.detected ? 1 : 0, count: status.performance.labelled } : { value: null, count: 0 };
    case 'integrity_share': {
      const integrity = (status as unknown as { integrity?: unknown }).integrity;
      if (!integrity || typeof integrity !== 'object') return undefined;
      const violations = countViolations(integrity as Record<string, unknown>);
      return { value: rows > 0 ? Math.min(1, violations / rows) : null, count: rows };
    }
    default: {
      const value = (status.performance as unknown as Record<string, number | null>)[metric];
      return { value: typeof value === 'number' && Number.isFinite(value) ? value : null, count: status.performance.labelled };
    }
  }
}

/** Violations in an `integrity` record: numbers per kind, or objects with a `count`. */
function countViolations(integrity: Record<string, unknown>): number {
  let total = 0;
  for (const v of Object.values(integrity)) {
    if (typeof v === 'number' && Number.isFinite(v)) total += v;
    else if (v && typeof v === 'object' && typeof (v as { count?: unknown }).count === 'number') total += (v as { count: number }).count;
  }
  return total;
}

export function breaches(value: number, condition: AlertCondition, threshold: number): boolean {
  switch (condition) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

const LABELS: Record<AlertMetric, string> = {
  drift_share: 'drift share',
  error_rate: 'error rate',
  latency_p50_ms: 'p50 latency (ms)',
  latency_p95_ms: 'p95 latency (ms)',
  latency_p99_ms: 'p99 latency (ms)',
  accuracy: 'accuracy',
  precision: 'precision',
  recall: 'recall',
  f1: 'F1',
  roc_auc: 'ROC AUC',
  mae: 'MAE',
  rmse: 'RMSE',
  integrity_share: 'integrity violations per row',
  concept_drift: 'concept drift detected'
};

export function metricLabel(metric: AlertMetric): string {
  return LABELS[metric];
}

/** A number for a message: 4 significant digits. */
export function formatValue(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
}

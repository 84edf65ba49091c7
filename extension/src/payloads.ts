/**
 * The JSON payloads of nbdeploy's outputs, as the Python bridge writes them
 * (python-bridge/nbdeploy/validate.py and deploy.py). A payload is self-contained: a
 * shared notebook renders it without the service. Fields that older or newer bridges may
 * leave out are optional, and the renderers skip what is absent.
 */

/** A metric's value; null when it cannot be computed on the data (e.g. AUC on one class). */
export type MetricValue = number | null;

/** `pass`, `fail`, or `n/a` (nothing to compare with, e.g. no production version yet). */
export type GateStatus = 'pass' | 'fail' | 'n/a';

/** A governance checklist item is also `missing` when the model card leaves it out. */
export type ChecklistStatus = 'pass' | 'fail' | 'missing';

export interface IGateResult {
  metric: string;
  /** As written in `gates=`, e.g. `>= baseline - 0.01`. */
  condition: string;
  value: MetricValue;
  threshold: MetricValue;
  status: GateStatus;
  /** One sentence saying why, e.g. `f1 = 0.8435 misses >= 0.95`. */
  detail: string;
}

export interface IConfusionMatrix {
  labels: string[];
  /** Rows: true class; columns: predicted class. */
  matrix: number[][];
}

export interface IClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface IValidationDetails {
  confusion_matrix?: IConfusionMatrix;
  per_class?: Record<string, IClassMetrics>;
  /** The positive class's ROC curve (binary models), thinned for charts. */
  roc?: { fpr: number[]; tpr: number[] };
  /** Reliability diagram bins (binary models). */
  calibration?: { predicted: number; observed: number; count: number }[];
}

export interface ISliceResult {
  slice: string;
  rows: number;
  /** null when the slice has too few rows to measure. */
  metrics: Record<string, MetricValue> | null;
}

export interface IFeatureDrift {
  /** `ks` (numeric) or `chi_square` (categorical). */
  method: string;
  statistic: number;
  p_value: number;
  threshold: number;
  drifted: boolean;
}

export interface ISharedRows {
  checked: boolean;
  rows?: number;
  share?: number;
  detail?: string;
  /** "client": the notebook's own check, sent as evidence; the service shows it and never lets it decide. */
  source?: 'client';
}

export interface IDataChecks {
  drift?: Record<string, IFeatureDrift>;
  drifted_features?: string[];
  shared_with_training?: ISharedRows;
}

export interface IChecklistItem {
  id: string;
  label: string;
  status: ChecklistStatus;
  detail: string;
}

/** A reviewer's answer to a stored report (`review` in docs/protocol.md). */
export interface IReview {
  id: number;
  decision: 'approve' | 'request_changes';
  comment: string;
  by: string;
  at: string;
}

export interface IValidationReport {
  model: string;
  version: number;
  task: 'classification' | 'regression' | string;
  rows: number;
  passed: boolean;
  metrics: Record<string, MetricValue>;
  /** 95% bootstrap intervals, [low, high]; null when too few resamples could be scored. */
  intervals?: Record<string, [number, number] | null>;
  /** The metrics at export, on the training sample. */
  training?: Record<string, MetricValue>;
  /** The production version's metrics on the same data. */
  baseline?: Record<string, MetricValue> | null;
  baseline_version?: number | null;
  gates?: IGateResult[];
  details?: IValidationDetails;
  slices?: ISliceResult[];
  data_checks?: IDataChecks;
  checklist?: IChecklistItem[];
  created_at?: string;
  /** The stored report's id in the registry. */
  id?: number | null;
  /** Present when the payload comes from the registry (`get_validation`) with its reviews. */
  reviews?: IReview[];
}

/** A version's share of the model's traffic. */
export interface ITrafficShare {
  version: number;
  role: 'production' | 'canary' | 'shadow' | string;
  /** Production and canary shares add up to 100; a shadow mirrors 100% of requests. */
  percent: number;
}

export interface IDeployment {
  model: string;
  version: number;
  stage: string;
  traffic: ITrafficShare[];
  /**
   * The Open Inference Protocol v2 infer URL that reaches this version: the model's route when
   * the version takes part in its traffic (production, canary, shadow), else (staging) the
   * version's own route `/v2/models/{model}/versions/{version}/infer`.
   */
  endpoint: string;
  /** Usage snippets by language: `curl`, `python`, `typescript`. */
  snippets: Record<string, string>;
  /** The share of served requests the deployment keeps, and for how many days (absent in older outputs; null: none). */
  capture?: { rate: number; retention_days: number } | null;
}

/** A feature's rows and changed rows by range (numeric) or category, in a replay. */
export interface IReplayFeature {
  feature: string;
  kind: 'numeric' | 'categorical';
  bins: { bin: string; rows: number; changed: number; changed_share: number }[];
}

/** A replay's findings (docs/protocol.md#replay), with a few changed rows. */
export interface IReplay {
  model: string;
  version: number;
  source: 'captured' | 'shadow';
  from: string;
  to: string;
  requests: number;
  rows: number;
  served_versions: number[];
  agreement: number | null;
  changed: number;
  skipped?: { personal_data: number; failed: number; no_answer: number; first_error: string | null };
  truncated?: boolean;
  by_feature?: IReplayFeature[];
  metrics: { rows: number; served: Record<string, number>; candidate: Record<string, number>; delta: Record<string, number> } | null;
  latency_ms?: { served: Record<'p50' | 'p95' | 'p99', number> | null; candidate: Record<'p50' | 'p95' | 'p99', number> | null };
  changed_rows?: { columns: string[]; rows: (number | string | boolean | null)[][] };
}

/** One bucket of the monitor chart's `ops` series (older payloads also have `t_end`). */
export interface IMonitorOpsPoint {
  t: number;
  requests: number;
  errors: number;
  rows: number;
  throughput_per_s: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * The monitor chart (`nd.monitor`, the service's `monitor` reply; docs/monitoring.md): the
 * series per bucket (the chart's named datasets) and the Vega-Lite spec that draws them.
 */
export interface IMonitorPayload {
  model: string;
  version: number | null;
  /** Whether the chart is of a version asked for (else: whichever is in production). */
  version_pinned?: boolean;
  last_seconds: number;
  window_seconds: number;
  bucket_seconds: number;
  generated_at: string;
  from: string;
  to: string;
  /** Payloads from before the status summary moved into the `monitor` reply carry it; nothing here reads it. */
  status?: unknown;
  series: {
    ops: IMonitorOpsPoint[];
    /** Buckets that start before this (ms) no longer change (payloads from before it was sent lack it). */
    settled_until?: number;
    /** On a reply to `since`: the rows per bucket are those from then on only. */
    since?: number;
    [dataset: string]: unknown;
  };
  panels: string[];
  spec: Record<string, unknown>;
}

/** A drift test as an inspection reports it (the monitoring's test on the captured rows). */
export interface IInspectTest {
  method: string;
  /** null when infinite (a chi-square with a category training never had). */
  statistic: number | null;
  p_value: number | null;
  threshold: number;
  drifted: boolean;
}

/** The feature inspected against its training profile (docs/protocol.md#inspect). */
export interface IInspectFeature {
  name: string;
  kind: 'numeric' | 'categorical';
  personal: boolean;
  values: number;
  nulls: { captured: number | null; training: number | null };
  test: IInspectTest | null;
  note: string | null;
  histogram?: { edges: number[]; source: string; training: number[]; captured: number[]; below: number; above: number };
  quantiles?: Array<{ q: number; training: number; captured: number; shift: number; shift_sd: number | null }>;
  categories?: Array<{ category: string; training: number; captured: number; change: number }>;
  new_categories?: number;
}

/** What `nd.inspect` shows (`application/vnd.nbdeploy.inspect+json`): the service's findings and their chart. */
export interface IInspect {
  model: string;
  version: number;
  from: string;
  to: string;
  rows: number;
  requests: number;
  truncated: boolean;
  picked: boolean;
  feature: IInspectFeature;
  integrity: {
    counts: Record<string, number>;
    features: Array<{ feature: string; counts: Record<string, number>; detail: string | null }>;
    windows: Array<{ t: number; kind: string; count: number }>;
  };
  moved_together: Array<IInspectTest & { feature: string; kind: string }>;
  tested: number;
  drifted: number;
  /** Vega-Lite reading the dataset `bins`; null when the feature has no distribution to draw. */
  chart: { spec: Record<string, unknown>; datasets: Record<string, unknown[]> } | null;
}

/**
 * The TypeScript notebook API's values. Report and deployment objects have the fields of
 * the Python bridge's (`ValidationReport.to_dict()`, `Deployment.to_dict()`), which are the
 * payloads the JupyterLab extension renders (extension/src/payloads.ts).
 */
import type { MonitorPayload } from '../monitoring/monitor-payload.js';
import type { StatusView } from '../monitoring/views.js';
import type { ModelView } from '../protocol/views.js';
import type { Metrics } from '../validation/metrics.js';
import type { Profile } from './profile.js';
import type { ClassLabel, ModelSignature } from './signature.js';

export type { ModelView as Model, StatusView as Status };

/** The model card the governance checklist reads. */
export interface ModelCard {
  owner?: string;
  intended_use?: string;
  training_data?: string;
  /** Features that hold personal data (none of them may be a model input). */
  personal_data?: string[];
  [field: string]: unknown;
}

/** A registered model version and what nbdeploy knows about it. */
export interface ModelArtifact {
  name: string;
  version: number;
  sha256: string;
  /** False when the same bytes were registered before (the same version comes back). */
  created: boolean;
  signature: ModelSignature;
  profile: Profile | null;
  /** The metrics on the training sample, when register was given its labels. */
  training_metrics: Metrics;
  card: ModelCard;
}

export type { ChecklistItem, DataChecks, ValidationReport } from '../validation/report.js';

export interface TrafficShare {
  version: number;
  role: 'production' | 'canary' | 'shadow';
  percent: number;
}

export interface Deployment {
  model: string;
  version: number;
  stage: string;
  traffic: TrafficShare[];
  /** The Open Inference Protocol v2 infer URL of the model. */
  endpoint: string;
  /** Usage snippets by language: curl, python, typescript. */
  snippets: Record<string, string>;
  /** The share of served requests the deployment keeps (`capture`), and for how many days; null: none. */
  capture: { rate: number; retention_days: number } | null;
}

/** What the service answered, row by row. */
export interface Prediction {
  model: string;
  /** Class labels (classifiers). */
  labels: ClassLabel[] | null;
  /** Class scores, one row per input row (classifiers). */
  scores: number[][] | null;
  /** Predicted values (regressors). */
  values: number[] | number[][] | null;
  /** One id per row, for `feedback`. */
  request_ids: string[];
  /** The version that answered each row (a canary split answers from two). */
  versions: number[];
}

/** One row of `models()`: a version of a model. */
export interface ModelRow {
  model: string;
  version: number;
  stage: string;
  /** "production", "canary 20%", "shadow", "" — or "unloaded" when the model is not served. */
  traffic: string;
  validated: boolean | null;
  review: string | null;
  created_at: string;
  created_by: string;
  sha256: string;
}

/** What `monitor` shows, as data (Python's `MonitorChart`). */
export interface MonitorChart {
  /** `status` over the span: ops, integrity, drift, performance, alerts (the reply's; the payload does not carry it). */
  status: StatusView;
  /** The chart's data per time bucket. */
  series: MonitorPayload['series'];
  /** The monitor MIME payload (what the extension draws). */
  payload: MonitorPayload;
  /** The chart as SVG, as the service rendered it. */
  svg: string | null;
  /** The text summary. */
  text: string;
}

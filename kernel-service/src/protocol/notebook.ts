/**
 * The notebook protocol on `/ws`: JSON text frames, and binary frames for model bytes and
 * tensors. Every request carries an `id` that its reply repeats. See docs/protocol.md.
 *
 * Binary frame layout: u32 little-endian header length, the header as UTF-8 JSON (one of
 * the messages below), then the payload (model bytes, or tensors back to back as
 * datatypes.ts encodes them).
 */
import { z } from 'zod';

const DRIFT_METHODS = ['ks', 'chisquare', 'wasserstein', 'jensenshannon', 'psi'] as const;
import { DATATYPES } from './datatypes.js';
import { MAX_INSTANCES, REVIEW_DECISIONS } from '../registry/registry.js';
import { ALERT_CONDITIONS, ALERT_METRICS, ALERT_SEVERITIES, RELATIVE_THRESHOLD } from '../monitoring/alert-rules.js';
import { Dimension, RequestInput, RequestOutput } from './oip.js';

export const PROTOCOL_VERSION = 1;

const RequestId = z.union([z.string().max(256), z.number().int()]);
const ModelName = z.string().min(1).max(128);
const Version = z.number().int().positive();

/** Where a change comes from, for the audit log: the notebook path, cell, kernel. */
export const Context = z.strictObject({
  notebook: z.string().max(1024).optional(),
  /** A Jupyter cell id. */
  cell: z.string().max(128).optional(),
  kernel: z.string().max(256).optional()
});
export type Context = z.infer<typeof Context>;

export const Batching = z.strictObject({
  max_batch_size: z.number().int().min(0).max(65536).optional(),
  max_queue_delay_us: z.number().int().min(0).max(10_000_000).optional(),
  /** Worker threads with a session each: runs of this version in parallel. */
  instances: z.number().int().min(1).max(MAX_INSTANCES).optional(),
  /** Requests that may wait for a run before 503 / NBD_ERR_OVERLOADED. */
  max_queue_size: z.number().int().min(1).max(1_000_000).optional()
});
export type Batching = z.infer<typeof Batching>;

const base = { id: RequestId, context: Context.optional() };

export const ListMessage = z.strictObject({ type: z.literal('list'), ...base });
export const GetModelMessage = z.strictObject({ type: z.literal('get_model'), ...base, model: ModelName });

/** Sent as a binary frame whose payload is the ONNX bytes. */
export const RegisterMessage = z.strictObject({
  type: z.literal('register'),
  ...base,
  model: ModelName,
  metadata: z.record(z.string(), z.unknown()).optional(),
  /** The training-data profile (per-feature statistics and samples) that validation and monitoring compare with. */
  profile: z.record(z.string(), z.unknown()).optional(),
  batching: Batching.optional()
});

/** Replay gates of a deploy, read against the version's latest replay: `{"replay_agreement": ">= 0.98", "accuracy_delta": ">= 0"}`. */
const ReplayGates = z.record(z.string(), z.string().max(200)).superRefine((gates, ctx) => {
  for (const name of Object.keys(gates)) {
    if (!/^(replay_agreement|[a-z0-9_]+_delta)$/.test(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not a replay gate: a replay gate is replay_agreement or <metric>_delta (e.g. accuracy_delta, mae_delta)` });
    }
  }
});

export const DeployMessage = z.strictObject({
  type: z.literal('deploy'),
  ...base,
  model: ModelName,
  version: Version,
  stage: z.enum(['production', 'staging']).optional(),
  canary_percent: z.number().min(0).max(100).optional(),
  shadow: z.boolean().optional(),
  batching: Batching.optional(),
  /** Production without a passing validation report: the reason goes to the audit log. */
  override: z.string().max(2000).optional(),
  gates: ReplayGates.optional()
});

export const PromoteMessage = z.strictObject({
  type: z.literal('promote'),
  ...base,
  model: ModelName,
  version: Version,
  override: z.string().max(2000).optional(),
  gates: ReplayGates.optional()
});
export const SetCanaryMessage = z.strictObject({
  type: z.literal('set_canary'),
  ...base,
  model: ModelName,
  version: Version,
  percent: z.number().min(0).max(100),
  gates: ReplayGates.optional()
});
export const SetShadowMessage = z.strictObject({
  type: z.literal('set_shadow'),
  ...base,
  model: ModelName,
  version: Version,
  enabled: z.boolean()
});
const IntegrityAction = z.enum(['refuse', 'serve']);

/** Per-deployment data integrity policy: kinds left out keep their setting (docs/monitoring.md, Integrity). */
export const IntegrityPolicyChanges = z.strictObject({
  missing_feature: IntegrityAction.optional(),
  unexpected_feature: IntegrityAction.optional(),
  type_mismatch: IntegrityAction.optional(),
  new_category: IntegrityAction.optional(),
  out_of_range: IntegrityAction.optional(),
  /** Decided per window, after the requests were answered: only "serve". */
  null_spike: z.literal('serve', { error: 'null_spike is decided per window, after requests are answered: it can only be "serve"' }).optional()
});

export const SetIntegrityPolicyMessage = z.strictObject({
  type: z.literal('set_integrity_policy'),
  ...base,
  model: ModelName,
  policy: IntegrityPolicyChanges
});

/**
 * Keeps a share of the model's served requests — inputs, answers, shadow versions' answers —
 * for `retention_days` (default 7), for inspection and replay; `rate` 0 stops keeping them.
 */
export const SetCaptureMessage = z.strictObject({
  type: z.literal('set_capture'),
  ...base,
  model: ModelName,
  rate: z.number().min(0).max(1),
  retention_days: z.number().positive().max(3650).optional()
});

const Time = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'expected a date and time, as ISO 8601 (e.g. 2026-12-03T14:00:00Z)' });

/**
 * The captured rows of a model as a table (one row per served row), oldest first: within
 * [`from`, `to`) or the last `last_seconds` (default 3,600); the served answers, or with
 * `shadow` the shadow versions'; at most `limit` rows (default 10,000).
 */
export const CapturedMessage = z.strictObject({
  type: z.literal('captured'),
  ...base,
  model: ModelName,
  version: Version.optional(),
  from: Time.optional(),
  to: Time.optional(),
  last_seconds: z.number().positive().max(366 * 24 * 3600).optional(),
  shadow: z.boolean().optional(),
  limit: z.number().int().min(1).max(100_000).optional()
});

/**
 * Replays the requests the model captured over [`from`, `to`) or the last `last_seconds`
 * (default 86,400) through candidate `version` and compares its answers with those served:
 * `source` "captured" runs them again in the service, "shadow" compares the answers the
 * version gave as a shadow. Progress arrives as `replay_progress` frames (`replay`: the request's id).
 */
export const ReplayMessage = z.strictObject({
  type: z.literal('replay'),
  ...base,
  model: ModelName,
  version: Version,
  from: Time.optional(),
  to: Time.optional(),
  last_seconds: z.number().positive().max(366 * 24 * 3600).optional(),
  source: z.enum(['captured', 'shadow']).optional(),
  /** Rows replayed at most, the oldest first (default 100,000). */
  limit: z.number().int().min(1).max(1_000_000).optional(),
  /** Rows of the comparison table in the reply (default 1,000). */
  table_rows: z.number().int().min(0).max(100_000).optional()
});

/**
 * Triage of a drifted window: the rows the model captured over [`from`, `to`) or the last
 * `last_seconds` (default 3,600) served by `version` (default: production, else the newest),
 * and `feature` (default: the most drifted) against the version's training profile — its
 * distribution, the quantiles or categories that moved most, the monitoring's drift test on
 * these rows, the window's integrity events, and the other features ranked by drift. At most
 * `limit` rows (default 10,000), the oldest first; `table` false leaves the rows out of the
 * reply; `fallbacks` adds the text and HTML (with an SVG chart) a notebook shows without the extension.
 */
export const InspectMessage = z.strictObject({
  type: z.literal('inspect'),
  ...base,
  model: ModelName,
  feature: z.string().min(1).max(1024).optional(),
  version: Version.optional(),
  from: Time.optional(),
  to: Time.optional(),
  last_seconds: z.number().positive().max(366 * 24 * 3600).optional(),
  limit: z.number().int().min(1).max(100_000).optional(),
  table: z.boolean().optional(),
  fallbacks: z.boolean().optional()
});

export const RollbackMessage = z.strictObject({ type: z.literal('rollback'), ...base, model: ModelName });
export const UndeployMessage = z.strictObject({
  type: z.literal('undeploy'),
  ...base,
  model: ModelName,
  version: Version.optional()
});

/** JSON tensors in a text frame, or (in a binary frame) tensor headers with the data in the payload. */
export const InferMessage = z.strictObject({
  type: z.literal('infer'),
  ...base,
  model: ModelName,
  version: Version.optional(),
  request_id: z.string().max(256).optional(),
  inputs: z.array(RequestInput).min(1),
  outputs: z.array(RequestOutput).optional(),
  /** false for evaluation traffic (a validation run): answered, counted in metrics, left out of monitoring. */
  monitor: z.boolean().optional()
});

export const BinaryTensorHeader = z.strictObject({
  name: z.string().min(1),
  datatype: z.enum(DATATYPES),
  shape: z.array(Dimension)
});
export const BinaryInferMessage = InferMessage.extend({ inputs: z.array(BinaryTensorHeader).min(1) });

export const FeedbackMessage = z.strictObject({
  type: z.literal('feedback'),
  ...base,
  model: ModelName,
  request_ids: z.array(z.string().min(1).max(256)).min(1).max(100_000),
  /** One ground-truth value (a label, a number, or a row of them) per request id. */
  ground_truth: z.array(z.unknown())
});

/** What only the client knows, shown in the report and never deciding `passed`: its rows found among the training rows' hashes. */
export const ValidationEvidence = z.strictObject({
  shared_with_training: z
    .strictObject({
      checked: z.boolean(),
      rows: z.number().int().nonnegative().optional(),
      share: z.number().min(0).max(1).optional(),
      detail: z.string().max(1000).optional()
    })
    .optional()
});

/**
 * Labelled rows for the service to validate a version with: it runs them through the
 * version, computes the whole report (metrics, intervals, baseline, gates, slices, data
 * checks, checklist), stores it and replies `validation_recorded`. JSON tensors in a text
 * frame, or (in a binary frame) tensor headers with the data in the payload, as `infer`.
 */
export const ValidateMessage = z.strictObject({
  type: z.literal('validate'),
  ...base,
  model: ModelName,
  version: Version,
  inputs: z.array(RequestInput).min(1),
  /** One true label (classifiers) or value (regressors) per row. */
  labels: z.array(z.unknown()).min(1),
  /** Gates by metric: `{"f1": ">= 0.9", "roc_auc": ">= baseline - 0.01"}`. */
  gates: z.record(z.string().min(1).max(64), z.string().max(200)).optional(),
  /** Feature names (their categories, or quartiles of numbers), or named boolean row masks. */
  slices: z.union([z.array(z.string().min(1).max(256)).max(64), z.record(z.string().min(1).max(256), z.array(z.boolean()))]).optional(),
  /** Compare with the production version on the same rows (default true). */
  baseline: z.boolean().optional(),
  evidence: ValidationEvidence.optional(),
  /** Bootstrap resamples for the intervals (default 200; 0: none). */
  resamples: z.number().int().min(0).max(10_000).optional(),
  /** The bootstrap generator's seed (default 7): the same rows and seed give the same intervals. */
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  /** Model-card fields the stored card lacks (they never replace stored ones). */
  card: z.record(z.string(), z.unknown()).optional()
});
export const BinaryValidateMessage = ValidateMessage.extend({ inputs: z.array(BinaryTensorHeader).min(1) });

export const GetProfileMessage = z.strictObject({ type: z.literal('get_profile'), ...base, model: ModelName, version: Version });

export const GetValidationMessage = z.strictObject({ type: z.literal('get_validation'), ...base, model: ModelName, version: Version });

/** A stored validation report as a standalone HTML page (the version's latest report without `validation_id`). */
export const ValidationPageMessage = z.strictObject({
  type: z.literal('validation_page'),
  ...base,
  model: ModelName,
  version: Version,
  validation_id: z.number().int().positive().optional()
});

export const ReviewMessage = z.strictObject({
  type: z.literal('review'),
  ...base,
  model: ModelName,
  version: Version,
  decision: z.enum(REVIEW_DECISIONS),
  comment: z.string().max(10_000).optional()
});

export const SubscribeMessage = z.strictObject({ type: z.literal('subscribe'), ...base, model: ModelName });
export const UnsubscribeMessage = z.strictObject({ type: z.literal('unsubscribe'), ...base, model: ModelName });
export const AuditMessage = z.strictObject({
  type: z.literal('audit'),
  ...base,
  model: ModelName.optional(),
  limit: z.number().int().min(1).max(10_000).optional()
});

/**
 * Monitoring of a model over the last `last_seconds` (default 900): operations, data drift
 * per feature, prediction drift, performance from ground truth, concept drift; for
 * `version` (default: the production version).
 */
export const StatusMessage = z.strictObject({
  type: z.literal('status'),
  ...base,
  model: ModelName,
  version: Version.optional(),
  last_seconds: z.number().positive().max(366 * 24 * 3600).optional(),
  /** Every feature's drift test instead of the default choice (e.g. `psi`). */
  drift_method: z.enum(DRIFT_METHODS).optional(),
  /** Thresholds by method over the defaults. */
  drift_thresholds: z.partialRecord(z.enum(DRIFT_METHODS), z.number().finite().positive()).optional()
});

/**
 * The monitor chart's payload over the last `last_seconds` (default 900): the `status`
 * summary, series per bucket of windows and the Vega-Lite spec; with `svg`, the chart
 * rendered to SVG too (the static fallback of notebook outputs). With `since` (ms since the
 * epoch, a previous payload's `series.settled_until`), the series' rows per bucket are those
 * from then on only: a live view keeps the settled buckets it has.
 */
export const MonitorMessage = z.strictObject({
  type: z.literal('monitor'),
  ...base,
  model: ModelName,
  version: Version.optional(),
  last_seconds: z.number().positive().max(366 * 24 * 3600).optional(),
  svg: z.boolean().optional(),
  since: z.number().int().nonnegative().optional()
});

/**
 * An alert rule: `metric` `condition` `threshold` over the last `window_seconds` (default:
 * five monitoring windows). `threshold` is a number, or relative to the version's validation
 * report for performance metrics (`"validated - 0.05"`).
 */
export const AlertRuleInput = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a rule name is 1–64 letters, digits, "_", "." or "-"'),
  metric: z.enum(ALERT_METRICS),
  condition: z.enum(ALERT_CONDITIONS),
  threshold: z.union([
    z.number().finite(),
    z.string().trim().regex(RELATIVE_THRESHOLD, 'a threshold is a number or like "validated - 0.05", "validated * 1.2"')
  ]),
  window_seconds: z.number().int().min(1).max(7 * 24 * 3600).nullable().optional(),
  severity: z.enum(ALERT_SEVERITIES).optional(),
  cooldown_seconds: z.number().int().min(0).max(7 * 24 * 3600).optional(),
  min_count: z.number().int().min(0).optional(),
  enabled: z.boolean().optional()
});
export type AlertRuleInput = z.infer<typeof AlertRuleInput>;

const WebhookUrl = z
  .string()
  .max(2048)
  .refine((u) => {
    try {
      const url = new URL(u);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.host !== '';
    } catch {
      return false;
    }
  }, 'a webhook is an http:// or https:// URL');

export const GetAlertRulesMessage = z.strictObject({ type: z.literal('get_alert_rules'), ...base, model: ModelName });

/** Replaces the deployment's alert rules; `rules: null` returns it to the default rules. */
export const SetAlertRulesMessage = z.strictObject({
  type: z.literal('set_alert_rules'),
  ...base,
  model: ModelName,
  rules: z.array(AlertRuleInput).max(100).nullable()
});

/** Replaces the deployment's own webhooks (the service-wide ones from --alert-webhook apply too). */
export const SetAlertWebhooksMessage = z.strictObject({
  type: z.literal('set_alert_webhooks'),
  ...base,
  model: ModelName,
  webhooks: z.array(WebhookUrl).max(20)
});

/** Alerts, newest first: of one model or all, firing now or in a state, within the last `last_seconds`. */
export const ListAlertsMessage = z.strictObject({
  type: z.literal('list_alerts'),
  ...base,
  model: ModelName.optional(),
  state: z.enum(['firing', 'resolved']).optional(),
  last_seconds: z.number().positive().max(366 * 24 * 3600).optional(),
  limit: z.number().int().min(1).max(10_000).optional()
});

export const TextMessage = z.discriminatedUnion('type', [
  ListMessage,
  GetModelMessage,
  DeployMessage,
  PromoteMessage,
  SetCanaryMessage,
  SetShadowMessage,
  SetIntegrityPolicyMessage,
  SetCaptureMessage,
  CapturedMessage,
  ReplayMessage,
  InspectMessage,
  RollbackMessage,
  UndeployMessage,
  InferMessage,
  FeedbackMessage,
  ValidateMessage,
  GetValidationMessage,
  ValidationPageMessage,
  GetProfileMessage,
  ReviewMessage,
  SubscribeMessage,
  UnsubscribeMessage,
  AuditMessage,
  StatusMessage,
  MonitorMessage,
  GetAlertRulesMessage,
  SetAlertRulesMessage,
  SetAlertWebhooksMessage,
  ListAlertsMessage
]);
export type TextMessage = z.infer<typeof TextMessage>;

export const BinaryMessage = z.discriminatedUnion('type', [RegisterMessage, BinaryInferMessage, BinaryValidateMessage]);
export type BinaryMessage = z.infer<typeof BinaryMessage>;

export type RegisterMessage = z.infer<typeof RegisterMessage>;
export type DeployMessage = z.infer<typeof DeployMessage>;
export type InferMessage = z.infer<typeof InferMessage>;
export type BinaryInferMessage = z.infer<typeof BinaryInferMessage>;
export type FeedbackMessage = z.infer<typeof FeedbackMessage>;
export type SetCaptureMessage = z.infer<typeof SetCaptureMessage>;
export type CapturedMessage = z.infer<typeof CapturedMessage>;
export type ReplayMessage = z.infer<typeof ReplayMessage>;
export type InspectMessage = z.infer<typeof InspectMessage>;
export type ValidateMessage = z.infer<typeof ValidateMessage>;
export type BinaryValidateMessage = z.infer<typeof BinaryValidateMessage>;

/** Splits a binary frame into its JSON header and payload. */
export function splitBinaryFrame(frame: Buffer): { header: unknown; payload: Buffer } {
  if (frame.length < 4) throw new Error('a binary frame starts with a 4-byte header length');
  const length = frame.readUInt32LE(0);
  if (4 + length > frame.length) throw new Error(`header length ${length} runs past the frame's ${frame.length} bytes`);
  let header: unknown;
  try {
    header = JSON.parse(frame.toString('utf8', 4, 4 + length));
  } catch (error) {
    throw new Error(`the header is not JSON: ${(error as Error).message}`);
  }
  return { header, payload: frame.subarray(4 + length) };
}

/** Builds a binary frame from a JSON header and payload parts. */
export function binaryFrame(header: unknown, payload: readonly Uint8Array[]): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32LE(json.length, 0);
  return Buffer.concat([prefix, json, ...payload]);
}

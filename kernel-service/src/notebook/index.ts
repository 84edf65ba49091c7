/**
 * nbdeploy for TypeScript notebooks (tslab): the Python bridge's workflow for an ONNX model.
 *
 *     import * as nd from "nbdeploy/notebook";
 *     const art = await nd.register("model.onnx", { name: "churn", sample: trainRows, labels: trainLabels });
 *     await nd.validate(art, holdoutRows, holdoutLabels, { gates: { f1: ">= 0.9" } });  // shows the report
 *     await nd.deploy(art);                                 // production needs a passing report
 *     const out = await nd.predict("churn", rows);          // .labels, .scores / .values, .request_ids
 *     await nd.feedback("churn", out.request_ids, truth);
 *     await nd.monitor("churn");                            // shows the monitoring now
 *     await nd.inspect("churn", { feature: "age", last: "1h" });  // a drifted window, triaged
 *     await nd.audit("churn");                              // who changed what, from which notebook and cell
 *
 * Reports, deployments and monitoring show as the same MIME bundles as Python's, so the
 * JupyterLab extension renders them alike; `{ display: false }` only returns them.
 */
import { deploymentBundle, monitorBundle, validationBundle } from './bundles.js';
import { client } from './session.js';
import { show } from './display.js';
import { deploy as deployVersion, type DeployOptions, rollback as rollbackModel } from './deployment.js';
import { type AuditRow, auditBundle, auditRows } from './audit.js';
import { followCells } from './context.js';
import { InputError } from './errors.js';
import { saveReportPage } from './report-page.js';
import { type Captured, type CaptureOptions, type CapturedOptions, readCaptured, setCapture } from './capture.js';
import { type Replay, type ReplayOptions, runReplay } from './replay.js';
import { type Inspection, type InspectOptions, inspectBundle, runInspect } from './inspect.js';
import { modelRows } from './model-rows.js';
import { register as registerModel, type RegisterOptions } from './registration.js';
import type { MonitorPayload } from '../monitoring/monitor-payload.js';
import type { z } from 'zod';
import type { AlertRuleInput } from '../protocol/notebook.js';
import type { AlertView as Alert } from '../monitoring/views.js';
import type { DriftMethod } from '../monitoring/drift-statistics.js';
import type { IntegrityPolicy } from '../protocol/integrity.js';
import { AlertRulesReply, AlertsReply, AuditReply, DeploymentReply, FeedbackRecorded, ModelReply, ModelsReply, MonitorReply, StatusReply } from './replies.js';
import type { Rows } from './rows.js';
import { predictRows } from './serving.js';
import type { ClassLabel } from './signature.js';
import type { Deployment, ModelArtifact, ModelRow, MonitorChart, Prediction, Status, ValidationReport } from './types.js';
import { validate as validateVersion, type ValidateOptions } from './validation.js';

export { connect, disconnect, type Connected } from './session.js';
export type { ConnectOptions } from './connection.js';
export { NbdeployError, ServiceError, ServiceUnreachableError, DeployRefusedError, InputError } from './errors.js';
export { setDisplay, type Display } from './display.js';
export { VALIDATION_MIME, DEPLOYMENT_MIME, MONITOR_MIME, INSPECT_MIME, type MimeBundle } from './bundles.js';
export type { Cell, Row, Rows } from './rows.js';
export type { ClassLabel, ModelSignature, InputSpec, Task } from './signature.js';
export type { MetricValue, Metrics } from '../validation/metrics.js';
export type { GateResult, GateStatus } from '../validation/gates.js';
export type { Profile } from './profile.js';
export type { Captured, CaptureOptions } from './capture.js';
export type { Replay, ReplayOptions } from './replay.js';
export type { Inspection, InspectOptions } from './inspect.js';
export type { InspectPayload } from '../monitoring/inspect-output.js';
export type { RegisterOptions, ValidateOptions, DeployOptions, Alert, AlertRuleInput, DriftMethod, IntegrityPolicy };

/** What `alertRules` returns: the rules in force, whether they are the deployment's own, its webhooks, how many service-wide webhooks apply too. */
export interface AlertRules {
  model: string;
  rules: Array<Required<Omit<AlertRuleInput, 'window_seconds'>> & { window_seconds: number | null }>;
  custom: boolean;
  webhooks: string[];
  service_webhooks: number;
}
export type * from './types.js';
export type { AuditRow };

// From the next cell on, changes carry the id of the cell they come from (context.ts).
followCells();

/** Whether to show the output in the notebook (default true). */
export interface ShowOption {
  display?: boolean;
}

/** Registers an ONNX file (path, relative to the notebook) or bytes as a new version of `options.name`. */
export function register(model: string | Uint8Array, options: RegisterOptions): Promise<ModelArtifact> {
  return registerModel(client(), model, options);
}

/** Validates a registered version on labelled rows through the service; stores and shows the report. */
export async function validate(
  art: ModelArtifact,
  rows: Rows,
  labels: readonly ClassLabel[],
  options: ValidateOptions & ShowOption = {}
): Promise<ValidationReport> {
  const report = await validateVersion(client(), art, rows, labels, options);
  if (options.display !== false) show(validationBundle(report));
  return report;
}

/**
 * Writes a stored validation report as a standalone HTML page at `path` (relative to the
 * notebook's folder): the panel's content and charts in one file that opens offline in any
 * browser, for reviewers outside Jupyter (Evidently's `save_html`). The service builds it
 * from the report it stored, with the reviews recorded since. Returns the absolute path.
 */
export function saveHtml(report: ValidationReport, path: string): Promise<string> {
  return saveReportPage(client(), report, path);
}

/** Deploys a registered version (production by default: it needs a passing validation); shows the deployment. */
export async function deploy(art: ModelArtifact | { name: string; version: number }, options: DeployOptions & ShowOption = {}): Promise<Deployment> {
  const deployment = await deployVersion(client(), art, options);
  if (options.display !== false) show(deploymentBundle(deployment));
  return deployment;
}

/** Back to the previous production version; shows the deployment. */
export async function rollback(name: string, options: ShowOption = {}): Promise<Deployment> {
  const deployment = await rollbackModel(client(), name);
  if (options.display !== false) show(deploymentBundle(deployment));
  return deployment;
}

/** Predictions from the deployed model (or one version), with one request id per row for `feedback`. */
export function predict(name: string, rows: Rows, options: { version?: number } = {}): Promise<Prediction> {
  return predictRows(client(), name, rows, options);
}

/** Ground truth for earlier predictions, joined by request id (it may come much later); returns how many were recorded. */
export async function feedback(name: string, requestIds: readonly string[], truth: readonly unknown[]): Promise<number> {
  if (!Array.isArray(requestIds) || !Array.isArray(truth)) throw new InputError('feedback takes the request ids and the ground truth, as two arrays');
  if (requestIds.length !== truth.length) {
    throw new InputError(`${requestIds.length} request ids but ${truth.length} ground-truth values; give one per id`);
  }
  const { reply } = await client().request(
    { type: 'feedback', model: name, request_ids: [...requestIds], ground_truth: [...truth] },
    FeedbackRecorded
  );
  return reply.count;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds in a span: "30s", "15m", "1h", "2d", or a number of seconds. */
export function parseSpan(last: string | number): number {
  let seconds: number;
  if (typeof last === 'number') seconds = last;
  else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(String(last));
    if (!match) throw new InputError(`a span is like "15m", "1h", "30s", "2d" or a number of seconds, not ${JSON.stringify(last)}`);
    seconds = Number(match[1]) * UNITS[match[2] || 's']!;
  }
  if (!(seconds > 0)) throw new InputError(`the span must be above 0 seconds, got ${JSON.stringify(last)}`);
  return seconds;
}

export interface StatusOptions {
  last?: string | number;
  version?: number;
  /** Test every feature it applies to this way instead of the default choice: "ks", "chisquare", "wasserstein", "jensenshannon", "psi". */
  driftMethod?: DriftMethod;
  /** Replaces the default thresholds, e.g. `{ psi: 0.2 }`. */
  driftThresholds?: Partial<Record<DriftMethod, number>>;
}

/** Monitoring of a model over the `last` span ("15m", "1h"): ops, drift, performance, concept drift, as data. */
export async function status(name: string, options: StatusOptions = {}): Promise<Status> {
  const message: Record<string, unknown> & { type: string } = { type: 'status', model: name, last_seconds: parseSpan(options.last ?? '15m') };
  if (options.version !== undefined) message.version = options.version;
  if (options.driftMethod !== undefined) message.drift_method = options.driftMethod;
  if (options.driftThresholds !== undefined) message.drift_thresholds = options.driftThresholds;
  const { reply } = await client().request(message, StatusReply);
  const { type: _type, id: _id, ...rest } = reply as Record<string, unknown>;
  return rest as unknown as Status;
}

/**
 * Shows the monitoring chart of a model over the `last` span ("15m", "1h"): traffic and
 * errors, latency, drift per feature, integrity, performance from ground truth and alerts —
 * live in JupyterLab with the extension, as SVG elsewhere. Returns the chart's data.
 */
export async function monitor(name: string, options: { last?: string | number; version?: number } & ShowOption = {}): Promise<MonitorChart> {
  const message: Record<string, unknown> & { type: string } = { type: 'monitor', model: name, last_seconds: parseSpan(options.last ?? '15m'), svg: true };
  if (options.version !== undefined) message.version = options.version;
  const { reply } = await client().request(message, MonitorReply);
  const chart = reply as unknown as { payload: MonitorPayload; status: Status; svg?: string; text: string };
  if (options.display !== false) show(monitorBundle(chart));
  return { status: chart.status, series: chart.payload.series, payload: chart.payload, svg: chart.svg ?? null, text: chart.text };
}

/**
 * Alerts, newest first: of model `name` (every model when left out), firing now or fired or
 * resolved within `last` ("1h", "7d"; all kept when left out), only those in `state` if given.
 */
export async function alerts(name?: string, options: { last?: string | number; state?: 'firing' | 'resolved'; limit?: number } = {}): Promise<Alert[]> {
  const message: Record<string, unknown> & { type: string } = { type: 'list_alerts' };
  if (name !== undefined) message.model = name;
  if (options.state !== undefined) message.state = options.state;
  if (options.limit !== undefined) message.limit = options.limit;
  if (options.last !== undefined) message.last_seconds = parseSpan(options.last);
  const { reply } = await client().request(message, AlertsReply);
  return reply.alerts as unknown as Alert[];
}

/**
 * A deployment's alert rules and webhooks. `rules` replaces its rules (`null`: back to the
 * defaults); `webhooks` replaces its own webhooks (the service's `--alert-webhook` ones
 * apply as well). Rules are like `{ name: "errors", metric: "error_rate", condition: ">",
 * threshold: 0.02 }` (docs/monitoring.md#alerts).
 */
export async function alertRules(name: string, options: { rules?: AlertRuleInput[] | null; webhooks?: string[] } = {}): Promise<AlertRules> {
  let reply: z.infer<typeof AlertRulesReply> | null = null;
  if (options.rules !== undefined) reply = (await client().request({ type: 'set_alert_rules', model: name, rules: options.rules }, AlertRulesReply)).reply;
  if (options.webhooks !== undefined) {
    reply = (await client().request({ type: 'set_alert_webhooks', model: name, webhooks: [...options.webhooks] }, AlertRulesReply)).reply;
  }
  reply ??= (await client().request({ type: 'get_alert_rules', model: name }, AlertRulesReply)).reply;
  const { type: _type, id: _id, ...rest } = reply as Record<string, unknown>;
  return rest as unknown as AlertRules;
}

/**
 * A deployment's data-integrity policy: for each kind ("missing_feature",
 * "unexpected_feature", "type_mismatch", "new_category", "out_of_range", "null_spike"),
 * "refuse" (a 400 naming the field) or "serve" (served, and counted either way). Kinds given
 * are changed (audited), e.g. `nd.integrityPolicy("churn", { out_of_range: "refuse" })`.
 */
export async function integrityPolicy(name: string, changes: Partial<IntegrityPolicy> = {}): Promise<IntegrityPolicy> {
  const { reply } =
    Object.keys(changes).length > 0
      ? await client().request({ type: 'set_integrity_policy', model: name, policy: { ...changes } }, DeploymentReply)
      : await client().request({ type: 'get_model', model: name }, ModelReply);
  return { ...reply.model.deployment.integrity_policy } as IntegrityPolicy;
}

/**
 * Keeps `rate` of deployment `name`'s served requests (default 0.1) for `retentionDays`
 * (default 7), for inspection and replay; `rate: 0` stops. Shows the deployment.
 */
export async function capture(name: string, options: CaptureOptions & ShowOption = {}): Promise<Deployment> {
  const deployment = await setCapture(client(), name, options);
  if (options.display !== false) show(deploymentBundle(deployment));
  return deployment;
}

/** The requests deployment `name` kept, as rows (oldest first) over the last `last` (default "1h") or `start`–`end`. */
export function captured(name: string, options: Omit<CapturedOptions, 'lastSeconds'> & { last?: string | number } = {}): Promise<Captured> {
  const { last, ...rest } = options;
  return readCaptured(client(), name, { ...rest, ...(last === undefined ? {} : { lastSeconds: parseSpan(last) }) });
}

/**
 * What candidate `version` would have answered on the traffic deployment `name` captured over
 * the last `last` (default "24h") or `start`–`end`: agreement with what was served, changed
 * rows by feature range, metric deltas where ground truth arrived, latency (Python's nd.replay).
 */
export function replay(name: string, version: number, options: Omit<ReplayOptions, 'lastSeconds'> & { last?: string | number } = {}): Promise<Replay> {
  const { last, ...rest } = options;
  return runReplay(client(), name, version, { ...rest, ...(last === undefined ? {} : { lastSeconds: parseSpan(last) }) });
}

/**
 * Triage of a drifted window (Python's nd.inspect): the rows deployment `name` captured from
 * `start` to `end` (or over the last `last`, default "1h"), served by `version` (default
 * production), and `feature` (default the most drifted) against the training profile — its
 * distribution, the quantiles or categories that moved most, monitoring's drift test on these
 * rows, the integrity events of the span, the other features ranked by drift. Shows the panel.
 */
export async function inspect(name: string, options: Omit<InspectOptions, 'lastSeconds'> & { last?: string | number } & ShowOption = {}): Promise<Inspection> {
  const { last, display, ...rest } = options;
  const inspection = await runInspect(client(), name, { ...rest, ...(last === undefined ? {} : { lastSeconds: parseSpan(last) }) });
  if (display !== false) show(inspectBundle(inspection));
  return inspection;
}

/**
 * The audit log of model `name` (every model when left out), newest first, at most `limit`
 * entries (default 100): who changed what, when, from which notebook and cell. Shows it as
 * a table; returns the rows.
 */
export async function audit(name?: string, options: { limit?: number } & ShowOption = {}): Promise<AuditRow[]> {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new InputError(`limit must be a whole number from 1 to 10000, got ${JSON.stringify(options.limit)}`);
  const message: Record<string, unknown> & { type: string } = { type: 'audit', limit };
  if (name !== undefined) message.model = name;
  const { reply } = await client().request(message, AuditReply);
  const rows = auditRows(reply.entries);
  if (options.display !== false) show(auditBundle(rows, name === undefined ? 'Audit log' : `Audit log of ${name}`));
  return rows;
}

/** The registry as rows: one per version. */
export async function models(): Promise<ModelRow[]> {
  const { reply } = await client().request({ type: 'list' }, ModelsReply);
  return modelRows(reply.models);
}

/**
 * A replay: the requests a deployment captured over a span, answered by a candidate version
 * inside the service and compared row by row with what was served. With `source: "captured"`
 * the captured inputs run through the candidate as evaluation traffic (answered, counted in
 * the metrics, never monitored) on the candidate's background instance — a worker thread of
 * its own at low priority, outside the live queues — one request at a time, yielding the
 * event loop between them, so that live requests keep their place; with `source: "shadow"` the candidate's answers are those it gave
 * as a shadow to the same requests, kept by the capture, and nothing runs. Requests whose
 * inputs were captured as hashes (personal data) cannot be run again and are counted apart.
 */
import { performance } from 'node:perf_hooks';
import { ServiceError } from '../errors.js';
import type { CapturedTensor } from '../monitoring/capture-store.js';
import { capturedTable } from '../monitoring/captured-table.js';
import type { Monitor } from '../monitoring/monitor.js';
import { type VersionPlan, VersionPlans, categoryOf } from '../monitoring/version-plan.js';
import type { Tensor } from '../protocol/datatypes.js';
import type { Registry } from '../registry/registry.js';
import { decodeJsonInput } from '../serving/admission.js';
import type { DataPlane } from '../serving/data-plane.js';
import { type Answer, type ReplaySummary, type ReplayedRow, agrees, summarize } from './replay-report.js';

export interface ReplayQuery {
  model: string;
  /** The candidate version. */
  version: number;
  from: number;
  to: number;
  source: 'captured' | 'shadow';
  /** Rows replayed at most (the oldest first). */
  maxRows: number;
  /** Rows of the comparison table returned at most. */
  tableRows: number;
}

export interface ReplayResult extends ReplaySummary {
  model: string;
  version: number;
  source: 'captured' | 'shadow';
  from: string;
  to: string;
  requests: number;
  /** Versions that served the replayed requests. */
  served_versions: number[];
  skipped: { personal_data: number; failed: number; no_answer: number; first_error: string | null };
  truncated: boolean;
  /** The rows compared: when, which request, the served version, the features, both answers, whether they differ, the ground truth. */
  table: { columns: string[]; rows: Array<Array<number | string | boolean | null>> };
}

export interface ReplayContext {
  registry: Registry;
  dataPlane: DataPlane;
  monitor: Monitor;
}

export async function runReplay(ctx: ReplayContext, q: ReplayQuery, progress: (done: number, total: number) => void): Promise<ReplayResult> {
  const { registry, dataPlane, monitor } = ctx;
  if (!(await registry.getModel(q.model))) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model: q.model });
  if (!(await registry.getVersion(q.model, q.version))) throw new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model: q.model, version: q.version });
  const plans = new VersionPlans(registry);
  const candidatePlan = (await plans.load(q.model, q.version))!;
  const { requests: captured, truth } = await monitor.capturedRequests({ model: q.model, from: q.from, to: q.to, shadow: false, maxRows: q.maxRows + 1 });
  let rowsSeen = 0;
  const requests = captured.filter((r) => (rowsSeen += r.rows) <= q.maxRows);
  const truncated = requests.length < captured.length;

  const answers = new Map<string, { outputs: CapturedTensor[] | Tensor[]; latencyMs: number | null }>();
  const skipped = { personal_data: 0, failed: 0, no_answer: 0, first_error: null as string | null };
  if (q.source === 'shadow') {
    const shadows = await monitor.capturedRequests({ model: q.model, version: q.version, from: q.from, to: q.to, shadow: true, maxRows: Number.MAX_SAFE_INTEGER });
    for (const s of shadows.requests) answers.set(s.requestId, { outputs: s.outputs, latencyMs: s.latencyMs });
  } else {
    // One request at a time on the candidate's background instance, so that its latency is its
    // own (never time spent behind the replay's other requests); the event loop serves what
    // arrived meanwhile between two. The first run also starts the background instance: its
    // latency is left out of the comparison.
    let done = 0;
    for (const request of requests) {
      if (request.inputs.some((t) => t.hashed?.length)) {
        skipped.personal_data++;
      } else {
        const inputs = request.inputs.map((t) => decodeJsonInput(t.name, t.datatype, t.shape, t.data as unknown[]));
        const start = performance.now();
        try {
          const result = await dataPlane.infer(q.model, q.version, { inputs, monitor: false, background: true }, 'ws');
          answers.set(request.requestId, { outputs: result.outputs, latencyMs: answers.size === 0 ? null : performance.now() - start });
        } catch (error) {
          skipped.failed++;
          skipped.first_error ??= (error as Error).message;
        }
      }
      progress(++done, requests.length);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  for (const version of new Set(requests.map((r) => r.version))) await plans.load(q.model, version);
  const table = capturedTable(requests, plans);
  const featureAt = table.inputs.map((c) => [c, table.columns.indexOf(c)] as const);
  const rows: ReplayedRow[] = [];
  const out: ReplayResult['table']['rows'] = [];
  const latency = { served: [] as number[], candidate: [] as number[] };
  const servedVersions = new Set<number>();
  let tableRow = 0;
  for (const request of requests) {
    const first = tableRow;
    tableRow += request.rows;
    const answer = answers.get(request.requestId);
    if (!answer) {
      // Captured: counted above (personal data, or the candidate failed). Shadow: it did not answer this one.
      if (q.source === 'shadow') skipped.no_answer++;
      continue;
    }
    const servedPlan = plans.get(q.model, request.version);
    if (!servedPlan) continue;
    servedVersions.add(request.version);
    if (answer.latencyMs !== null) {
      latency.served.push(request.latencyMs);
      latency.candidate.push(answer.latencyMs);
    }
    for (let r = 0; r < request.rows; r++) {
      const values = table.rows[first + r]!;
      const features = Object.fromEntries(featureAt.map(([c, i]) => [c, values[i] ?? null]));
      const key = request.rows === 1 ? request.requestId : `${request.requestId}#${r}`;
      const t = truth[key] ?? (request.rows === 1 ? truth[`${key}#0`] : undefined);
      const served = answerOf(servedPlan, request.outputs, r);
      const candidate = answerOf(candidatePlan, answer.outputs, r);
      rows.push({ features, served, candidate, truth: t });
      if (out.length < q.tableRows) {
        out.push([values[0]!, values[1]!, request.version, ...table.inputs.map((c) => features[c] ?? null), shown(served), shown(candidate), !agrees(served, candidate), t === undefined ? null : (t as number | string | null)]);
      }
    }
  }
  return {
    model: q.model,
    version: q.version,
    source: q.source,
    from: new Date(q.from).toISOString(),
    to: new Date(q.to).toISOString(),
    requests: requests.length,
    served_versions: [...servedVersions].sort((a, b) => a - b),
    skipped,
    truncated,
    ...summarize(rows, latency),
    table: { columns: ['at', 'request_id', 'served_version', ...table.inputs, 'served', 'candidate', 'changed', 'truth'], rows: out }
  };
}

/** A row's answer: the label output's value (classifiers) or the value output's (regressors). */
function answerOf(plan: VersionPlan, outputs: ReadonlyArray<CapturedTensor | Tensor>, row: number): Answer {
  const find = (name: string | null) => (name ? outputs.find((o) => o.name === name) : undefined);
  const label = find(plan.labelOutput);
  if (label) return { label: categoryOf(valueAt(label, row)) };
  const value = find(plan.valueOutput);
  if (value) {
    const v = valueAt(value, row);
    return { value: v === null || v === undefined ? null : Number(v) };
  }
  return { label: null };
}

function valueAt(t: CapturedTensor | Tensor, row: number): unknown {
  const data = t.data as ArrayLike<unknown>;
  const width = t.shape.length === 2 ? t.shape[1]! : 1;
  const v = data[row * width];
  return typeof v === 'bigint' ? Number(v) : v;
}

function shown(a: Answer): number | string | null {
  return 'label' in a ? a.label : a.value;
}

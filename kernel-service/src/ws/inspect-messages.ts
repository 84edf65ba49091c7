/**
 * The `inspect` message of the notebook protocol: triage of a drifted window from the
 * traffic a deployment captured (monitoring/inspect-report.ts). Checked here, with the
 * errors a notebook user can act on: an unknown model or version, a feature the training
 * profile does not have (naming those it has), a span without captured rows (saying whether
 * capture is off, and how to turn it on). The findings are the monitoring worker's.
 */
import { ServiceError } from '../errors.js';
import { inspectHtml, inspectPayload, inspectText } from '../monitoring/inspect-output.js';
import type { Monitor } from '../monitoring/monitor.js';
import type { InspectMessage } from '../protocol/notebook.js';
import type { Registry } from '../registry/registry.js';
import { spanOf } from './capture-messages.js';

const DEFAULT_LAST_SECONDS = 3600;
const DEFAULT_LIMIT = 10_000;
/** Features named in an error at most. */
const NAMED_FEATURES = 40;

export async function inspectReply(msg: InspectMessage, registry: Registry, monitor: Monitor | undefined): Promise<Record<string, unknown>> {
  if (!monitor) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: 'this service runs without monitoring, which keeps the captured requests inspect reads' });
  const summary = await registry.getModel(msg.model);
  if (!summary) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model: msg.model });
  const version = msg.version ?? summary.deployment.production ?? summary.versions.at(-1)?.version;
  if (version === undefined || !(await registry.getVersion(msg.model, version))) {
    throw new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model: msg.model, version: version ?? 'to inspect (none is registered)' });
  }
  const profile = await registry.getProfile(msg.model, version);
  const features = Object.keys((profile?.features ?? {}) as Record<string, unknown>);
  if (features.length === 0) {
    throw new ServiceError('NBD_ERR_BAD_REQUEST', {
      issues: `version ${version} of "${msg.model}" has no training profile to compare captured rows with (nd.export records one with the artifact)`
    });
  }
  if (msg.feature !== undefined && !features.includes(msg.feature)) {
    const named = features.slice(0, NAMED_FEATURES).map((f) => JSON.stringify(f)).join(', ');
    throw new ServiceError('NBD_ERR_FEATURE_NOT_FOUND', {
      model: msg.model,
      version,
      feature: msg.feature,
      features: features.length > NAMED_FEATURES ? `${named} and ${features.length - NAMED_FEATURES} more` : named
    });
  }
  const { from, to } = spanOf(msg, DEFAULT_LAST_SECONDS);
  const { findings, table, truncated } = await monitor.inspect({ model: msg.model, version, feature: msg.feature, from, to, limit: msg.limit ?? DEFAULT_LIMIT });
  if (!findings) {
    const capture = summary.deployment.capture;
    const reason = capture
      ? `the deployment keeps ${Number((capture.rate * 100).toPrecision(6))}% of its requests (for ${capture.retentionDays} days) and none of version ${version} in this span: widen the span, raise the rate (nd.capture("${msg.model}", rate=1)), or send traffic`
      : `capture is off for this deployment: turn it on with nd.capture("${msg.model}", rate=0.1) (or the set_capture message, or \`nbdeploy capture ${msg.model} 0.1\`), then inspect the traffic served after that`;
    throw new ServiceError('NBD_ERR_NOTHING_CAPTURED', { model: msg.model, version, from: new Date(from).toISOString(), to: new Date(to).toISOString(), reason });
  }
  const report = inspectPayload(findings);
  const reply: Record<string, unknown> = { type: 'inspect', id: msg.id, report };
  if (msg.table ?? true) reply.table = { columns: table.columns, rows: table.rows, hashed: table.hashed, truncated };
  if (msg.fallbacks) {
    reply.text = inspectText(report);
    reply.html = await inspectHtml(report);
  }
  return reply;
}

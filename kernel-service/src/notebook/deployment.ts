/**
 * `deploy` and `rollback`: deployment changes, as a deployment with the traffic split and
 * the snippets integrators need (curl, Python, TypeScript) — python-bridge/nbdeploy/deploy.py.
 */
import type { ModelView } from '../protocol/views.js';
import type { NotebookClient } from './client.js';
import { DeployRefusedError, InputError, ServiceError } from './errors.js';
import { DeploymentReply } from './replies.js';
import type { ModelSignature } from './signature.js';
import type { Deployment, ModelArtifact, TrafficShare } from './types.js';

export interface DeployOptions {
  /** "production" (default) or "staging" (served at its versioned route only). */
  stage?: 'production' | 'staging';
  /** Send this percentage of the model's traffic to the version, as a canary. */
  canary?: number;
  /** Mirror the model's traffic to the version (its answers go to monitoring only). */
  shadow?: boolean;
  /** Production without a passing validation: the reason goes to the audit log. */
  override?: string;
  /** How the version is served: instances (worker threads), max_batch_size, max_queue_delay_us, max_queue_size. */
  batching?: { instances?: number; max_batch_size?: number; max_queue_delay_us?: number; max_queue_size?: number };
  /** Replay gates, read against the version's latest replay: e.g. `{ replay_agreement: ">= 0.98", accuracy_delta: ">= 0" }`. */
  gates?: Record<string, string>;
}

/**
 * The model's route when the version takes part in the model's traffic (production, canary,
 * shadow); otherwise (a staged version) its own versioned route, the only one that reaches it.
 */
export function endpointOf(url: string, model: string, version: number, traffic: readonly TrafficShare[]): string {
  const base = `${url.replace(/\/+$/, '')}/v2/models/${model}`;
  return traffic.some((t) => t.version === version) ? `${base}/infer` : `${base}/versions/${version}/infer`;
}

export function snippets(endpoint: string, signature: ModelSignature | null): Record<string, string> {
  // every input, or the copied request would be refused for the ones left out
  const example = (signature?.inputs ?? []).map((i) => {
    const rowShape = i.shape.slice(1).map((d) => Math.max(d, 1));
    const n = rowShape.reduce((a, b) => a * b, 1);
    return { name: i.name, shape: [1, ...rowShape], datatype: i.datatype, data: new Array(n).fill(i.datatype === 'BYTES' ? 'a' : 0) };
  });
  // Python's json.dumps spacing, so both bridges write the same snippets
  const body = JSON.stringify({ inputs: example }).replace(/([,:])(?=[^\s])/g, '$1 ');
  return {
    curl: `curl -X POST ${endpoint} \\\n  -H "Authorization: Bearer $NBDEPLOY_TOKEN" \\\n  -d '${body}'`,
    python:
      'import os, requests\n' +
      `r = requests.post('${endpoint}',\n` +
      "                  headers={'Authorization': f\"Bearer {os.environ['NBDEPLOY_TOKEN']}\"},\n" +
      `                  json=${body})\n` +
      "print(r.json()['outputs'])",
    typescript:
      `const res = await fetch('${endpoint}', {\n` +
      "  method: 'POST',\n" +
      '  headers: { Authorization: `Bearer ${process.env.NBDEPLOY_TOKEN}` },\n' +
      `  body: JSON.stringify(${body})\n` +
      '});\n' +
      'console.log((await res.json()).outputs);'
  };
}

export function deploymentOf(url: string, view: ModelView, version: number): Deployment {
  const d = view.deployment;
  const traffic: TrafficShare[] = [];
  if (d.production !== null) {
    traffic.push({ version: d.production, role: 'production', percent: 100 - (d.canary ? d.canary.percent : 0) });
    if (d.canary) traffic.push({ version: d.canary.version, role: 'canary', percent: d.canary.percent });
  }
  for (const s of d.shadows) traffic.push({ version: s, role: 'shadow', percent: 100 });
  const record = view.versions.find((v) => v.version === version);
  const signature = ((record?.metadata.nbdeploy ?? {}) as { signature?: ModelSignature }).signature ?? null;
  const endpoint = endpointOf(url, view.name, version, traffic);
  return { model: view.name, version, stage: record?.stage ?? 'none', traffic, endpoint, snippets: snippets(endpoint, signature), capture: d.capture };
}

export async function deploy(client: NotebookClient, art: ModelArtifact | { name: string; version: number }, options: DeployOptions = {}): Promise<Deployment> {
  if (!art || typeof art.name !== 'string' || typeof art.version !== 'number') {
    throw new InputError('deploy takes what register returned, or { name, version }');
  }
  const message: Record<string, unknown> & { type: string } = { type: 'deploy', model: art.name, version: art.version };
  if (options.canary !== undefined) message.canary_percent = options.canary;
  else if (options.shadow) message.shadow = true;
  else if (options.stage === 'staging') message.stage = 'staging';
  else if (options.stage !== undefined && options.stage !== 'production') {
    throw new InputError(`stage must be "production" or "staging", got ${JSON.stringify(options.stage)}`);
  }
  if (options.override !== undefined) message.override = options.override;
  if (options.batching !== undefined) message.batching = options.batching;
  if (options.gates !== undefined) message.gates = options.gates;
  try {
    const { reply } = await client.request(message, DeploymentReply);
    return deploymentOf(client.info.url, reply.model, art.version);
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'NBD_ERR_VALIDATION_REQUIRED') {
      throw new DeployRefusedError(
        error.code,
        `${error.detail} — run nd.validate(art, rows, labels, { gates }) first, or pass { override: "reason" }`,
        error.status
      );
    }
    if (error instanceof ServiceError && error.code === 'NBD_ERR_REPLAY_GATE') {
      throw new DeployRefusedError(error.code, `${error.detail} — see nd.replay("${art.name}", ${art.version})`, error.status);
    }
    throw error;
  }
}

export async function rollback(client: NotebookClient, name: string): Promise<Deployment> {
  const { reply } = await client.request({ type: 'rollback', model: name }, DeploymentReply);
  return deploymentOf(client.info.url, reply.model, reply.model.deployment.production!);
}

/**
 * The HTTP surface: Open Inference Protocol v2 REST, Triton's model-repository extension
 * and Prometheus /metrics, routed with find-my-way. Handlers translate between HTTP and
 * the transport-free data plane and deployer; errors become `{"error", "code"}` bodies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay from 'find-my-way';
import { type Access, actorOf } from '../auth.js';
import { ServiceError, asServiceError } from '../errors.js';
import type { ServiceMetrics } from '../metrics.js';
import { decodeJsonInput } from '../monitoring/integrity.js';
import { tensorToJsonText } from '../protocol/datatypes.js';
import { InferRequest, ModelConfig, RepositoryIndexRequest, RepositoryLoadRequest, describeIssues } from '../protocol/oip.js';
import { MODEL_FILE } from '../registry/artifact-store.js';
import type { BatchingConfig, Registry } from '../registry/registry.js';
import type { InferResult } from '../serving/data-plane.js';
import type { DataPlane } from '../serving/data-plane.js';
import type { Deployer } from '../serving/deployer.js';
import { type ModelServer, newestServable } from '../serving/model-server.js';
import { VERSION } from '../version.js';
import { readJson } from './body.js';

export interface HttpContext {
  access: Access;
  registry: Registry;
  server: ModelServer;
  dataPlane: DataPlane;
  deployer: Deployer;
  metrics: ServiceMetrics;
  maxRequestBytes: number;
  /** False once shutdown began: readiness turns false so load balancers stop sending. */
  isAcceptingTraffic: () => boolean;
}

type Params = { [key: string]: string | undefined };
type Handler = (req: IncomingMessage, res: ServerResponse, params: Params) => unknown;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, typeof body === 'string' ? body : JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, text: string, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, error: unknown): void {
  const failure = asServiceError(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, failure.status, failure);
}

/** The OIP response, written as text (see datatypes.ts). */
export function inferResponseText(result: InferResult): string {
  return (
    `{"model_name":${JSON.stringify(result.modelName)},"model_version":"${result.modelVersion}",` +
    `"id":${JSON.stringify(result.id)},"outputs":[${result.outputs.map(tensorToJsonText).join(',')}]}`
  );
}

function parseVersion(model: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const version = Number(raw);
  if (!Number.isInteger(version) || version < 1) {
    throw new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model, version: JSON.stringify(raw) });
  }
  return version;
}

export function createRouter(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  const router = FindMyWay({
    ignoreTrailingSlash: true,
    defaultRoute: (req, res) => sendError(res, new ServiceError('NBD_ERR_ROUTE_NOT_FOUND', { method: req.method ?? '', path: req.url ?? '' }))
  });

  /** Registers a route that needs the token (all but the health probes). */
  const guarded = (method: 'GET' | 'POST', path: string, handler: Handler): void => {
    router.on(method, path, (req, res, params) => {
      try {
        ctx.access.checkToken(req);
        const result = handler(req, res, params);
        if (result instanceof Promise) result.catch((error: unknown) => sendError(res, error));
      } catch (error) {
        sendError(res, error);
      }
    });
  };

  router.on('GET', '/v2/health/live', (_req, res) => sendJson(res, 200, { live: true }));
  router.on('GET', '/v2/health/ready', (_req, res) => {
    const ready = ctx.isAcceptingTraffic();
    sendJson(res, ready ? 200 : 503, { ready });
  });

  guarded('GET', '/v2', (_req, res) =>
    sendJson(res, 200, { name: 'nbdeploy', version: VERSION, extensions: ['model_repository', 'metrics', 'nbdeploy_ws'] })
  );

  const metadata: Handler = (_req, res, { name, version }) => {
    const model = name!;
    const summary = ctx.registry.getModel(model);
    if (!summary) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
    const v = parseVersion(model, version);
    const record =
      v !== undefined
        ? summary.versions.find((r) => r.version === v)
        : summary.versions.find((r) => r.version === summary.deployment.production) ?? newestServable(summary) ?? summary.versions.at(-1);
    if (!record) throw new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model, version: version ?? '' });
    const tensor = (t: { name: string; datatype: string; shape: number[] }) => ({ name: t.name, datatype: t.datatype, shape: t.shape });
    sendJson(res, 200, {
      name: model,
      versions: v !== undefined ? [String(v)] : summary.versions.filter((r) => r.stage !== 'archived').map((r) => String(r.version)),
      platform: 'onnxruntime_onnx',
      inputs: record.signature.inputs.map(tensor),
      outputs: record.signature.outputs.map(tensor),
      parameters: { version: String(record.version), stage: record.stage, sha256: record.sha256 }
    });
  };
  guarded('GET', '/v2/models/:name', metadata);
  guarded('GET', '/v2/models/:name/versions/:version', metadata);

  const ready: Handler = (_req, res, { name, version }) => {
    const model = name!;
    if (!ctx.registry.getModel(model)) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
    const isReady = ctx.isAcceptingTraffic() && ctx.server.isReady(model, parseVersion(model, version));
    sendJson(res, isReady ? 200 : 503, { name: model, ready: isReady });
  };
  guarded('GET', '/v2/models/:name/ready', ready);
  guarded('GET', '/v2/models/:name/versions/:version/ready', ready);

  const infer: Handler = async (req, res, { name, version }) => {
    const model = name!;
    const v = parseVersion(model, version);
    // In flight from its headers on: a shutdown that begins while the body arrives still answers it.
    const admission = ctx.dataPlane.admit();
    try {
      const body = await readJson(req, ctx.maxRequestBytes, InferRequest);
      // Elements that do not fit their datatype stay raw until the data plane checks integrity.
      const inputs = body.inputs.map((i) => decodeJsonInput(i.name, i.datatype, i.shape, i.data));
      const result = await ctx.dataPlane.infer(model, v, { id: body.id, inputs, outputs: body.outputs, monitor: body.parameters?.monitor !== false }, 'http', admission);
      sendText(res, 200, inferResponseText(result));
    } finally {
      admission.release();
    }
  };
  guarded('POST', '/v2/models/:name/infer', infer);
  guarded('POST', '/v2/models/:name/versions/:version/infer', infer);

  guarded('POST', '/v2/repository/index', async (req, res) => {
    const body = await readJson(req, ctx.maxRequestBytes, RepositoryIndexRequest, {});
    const rows = ctx.registry.listModels().flatMap((m) =>
      m.versions.map((v) => {
        const isReady = ctx.server.isReady(m.name, v.version);
        const reason = !m.deployment.serving ? 'unloaded' : v.stage === 'archived' ? 'archived' : isReady ? '' : 'loads on first request';
        return { name: m.name, version: String(v.version), state: isReady ? 'READY' : 'UNAVAILABLE', reason, stage: v.stage };
      })
    );
    sendJson(res, 200, body.ready ? rows.filter((r) => r.state === 'READY') : rows);
  });

  guarded('POST', '/v2/repository/models/:name/load', async (req, res, { name }) => {
    const model = name!;
    const body = await readJson(req, ctx.maxRequestBytes, RepositoryLoadRequest, {});
    const { files, config } = repositoryFiles(body.parameters ?? {});
    const actor = actorOf(req);
    if (files.size === 0) {
      const summary = await ctx.deployer.load(model, actor);
      sendJson(res, 200, { model_name: model, serving: summary.deployment.serving });
      return;
    }
    const { version, created } = await ctx.deployer.register(model, files, { stage: 'staging', batching: config }, actor);
    if (!ctx.registry.getModel(model)!.deployment.serving) await ctx.deployer.load(model, actor);
    sendJson(res, 200, { model_name: model, model_version: String(version.version), sha256: version.sha256, created });
  });

  guarded('POST', '/v2/repository/models/:name/unload', async (req, res, { name }) => {
    const model = name!;
    await readJson(req, ctx.maxRequestBytes, RepositoryLoadRequest, {});
    await ctx.deployer.undeploy(model, undefined, actorOf(req));
    sendJson(res, 200, { model_name: model, serving: false });
  });

  guarded('GET', '/metrics', async (_req, res) => {
    sendText(res, 200, await ctx.metrics.registry.metrics(), ctx.metrics.registry.contentType);
  });

  return (req, res) => router.lookup(req, res);
}

/** `file:<version>/<path>` parameters (base64) as files, and the batching from `config`. */
function repositoryFiles(parameters: Record<string, unknown>): { files: Map<string, Uint8Array>; config: Partial<BatchingConfig> | undefined } {
  const files = new Map<string, Uint8Array>();
  for (const [key, value] of Object.entries(parameters)) {
    if (!key.startsWith('file:')) continue;
    const relative = key.slice(5).replace(/^\d+\//, '');
    if (!relative || relative.split('/').some((part) => part === '..' || part === '') || relative.startsWith('/')) {
      throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `parameter "${key}": file paths stay inside the version folder` });
    }
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(value)) {
      throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `parameter "${key}" must be the file's contents in base64` });
    }
    files.set(relative, Buffer.from(value, 'base64'));
  }
  if (files.size > 0 && !files.has(MODEL_FILE)) {
    throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `the files must include the model as "file:1/${MODEL_FILE}"` });
  }
  let config: Partial<BatchingConfig> | undefined;
  if (parameters.config !== undefined) {
    let raw: unknown;
    try {
      raw = typeof parameters.config === 'string' ? JSON.parse(parameters.config) : parameters.config;
    } catch (error) {
      throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `parameter "config" is not JSON: ${(error as Error).message}` });
    }
    const parsed = ModelConfig.safeParse(raw);
    if (!parsed.success) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `config: ${describeIssues(parsed.error)}` });
    config = {};
    if (parsed.data.max_batch_size !== undefined) config.maxBatchSize = parsed.data.max_batch_size;
    if (parsed.data.dynamic_batching?.max_queue_delay_microseconds !== undefined) {
      config.maxQueueDelayMicros = parsed.data.dynamic_batching.max_queue_delay_microseconds;
    }
  }
  return { files, config };
}

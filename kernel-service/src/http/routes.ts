/**
 * The HTTP surface: Open Inference Protocol v2 REST, Triton's model-repository extension
 * and Prometheus /metrics, routed with find-my-way. Handlers translate between HTTP and
 * the transport-free data plane and deployer; errors become `{"error", "code"}` bodies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay from 'find-my-way';
import { type Access, actorOf } from '../auth.js';
import { type Principal, authorize } from '../people/authorize.js';
import { HTTP_PERMISSIONS } from '../people/permissions.js';
import type { UserStore } from '../people/user-store.js';
import { ServerExtensionTokenRequest } from '../protocol/people.js';
import { ServiceError, asServiceError } from '../errors.js';
import type { ServiceMetrics } from '../metrics.js';
import { ModelConfig, RepositoryIndexRequest, RepositoryLoadRequest, describeIssues } from '../protocol/oip.js';
import { MODEL_FILE } from '../registry/artifact-store.js';
import { type BatchingConfig, MAX_INSTANCES, type Registry } from '../registry/registry.js';
import type { DataPlane } from '../serving/data-plane.js';
import type { Deployer } from '../serving/deployer.js';
import { isModelReady, modelMetadata, parseVersion, serverMetadata } from '../serving/model-metadata.js';
import type { ModelServer } from '../serving/model-server.js';
import { INFERENCE_HEADER, decodeContent, inferResponseBody, parseInferBody } from './binary-tensors.js';
import { readBody, readJson } from './body.js';

export interface HttpContext {
  access: Access;
  users: UserStore;
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
type Handler = (req: IncomingMessage, res: ServerResponse, params: Params, principal: Principal) => unknown;

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
  if (failure.params.retry_after !== undefined) res.setHeader('retry-after', String(failure.params.retry_after));
  sendJson(res, failure.status, failure);
}

export interface HttpRouter {
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Every route the router holds, as `METHOD path` (the role matrix test compares it with the permission table). */
  routes: string[];
}

export function createRouter(ctx: HttpContext): HttpRouter {
  const router = FindMyWay({
    ignoreTrailingSlash: true,
    defaultRoute: (req, res) => sendError(res, new ServiceError('NBD_ERR_ROUTE_NOT_FOUND', { method: req.method ?? '', path: req.url ?? '' }))
  });

  /**
   * Registers a route with what it needs from the permission table (people/permissions.ts):
   * nothing (the health probes), or a token whose user has the ability. A route without an
   * entry in the table stops the service at start.
   */
  const route = (method: 'GET' | 'POST', path: string, handler: Handler): void => {
    const key = `${method} ${path}`;
    if (!(key in HTTP_PERMISSIONS)) throw new Error(`route ${key} has no entry in people/permissions.ts`);
    const requirement = HTTP_PERMISSIONS[key]!;
    router.on(method, path, (req, res, params) => {
      if (requirement === null) {
        // The health probes: answered at once, without a token.
        try {
          const result = handler(req, res, params, ANONYMOUS);
          if (result instanceof Promise) result.catch((error: unknown) => sendError(res, error));
        } catch (error) {
          sendError(res, error);
        }
        return;
      }
      ctx.access
        .authenticate(req)
        .then((principal) => {
          authorize(principal, requirement, key, params.name);
          return handler(req, res, params, principal);
        })
        .catch((error: unknown) => sendError(res, error));
    });
  };

  route('GET', '/v2/health/live', (_req, res) => sendJson(res, 200, { live: true }));
  route('GET', '/v2/health/ready', (_req, res) => {
    const ready = ctx.isAcceptingTraffic();
    sendJson(res, ready ? 200 : 503, { ready });
  });

  route('GET', '/v2', (_req, res) => sendJson(res, 200, serverMetadata()));

  const metadata: Handler = async (_req, res, { name, version }) => {
    sendJson(res, 200, await modelMetadata(ctx.registry, name!, parseVersion(name!, version)));
  };
  route('GET', '/v2/models/:name', metadata);
  route('GET', '/v2/models/:name/versions/:version', metadata);

  const ready: Handler = async (_req, res, { name, version }) => {
    const model = name!;
    const isReady = (await isModelReady(ctx.registry, ctx.server, model, parseVersion(model, version))) && ctx.isAcceptingTraffic();
    sendJson(res, isReady ? 200 : 503, { name: model, ready: isReady });
  };
  route('GET', '/v2/models/:name/ready', ready);
  route('GET', '/v2/models/:name/versions/:version/ready', ready);

  const infer: Handler = async (req, res, { name, version }) => {
    const model = name!;
    const v = parseVersion(model, version);
    // In flight from its headers on: a shutdown that begins while the body arrives still answers it.
    const admission = ctx.dataPlane.admit();
    try {
      // JSON, or Triton's binary tensor extension (binary-tensors.ts). JSON elements that do not
      // fit their datatype stay raw until the data plane checks integrity.
      const raw = decodeContent(await readBody(req, ctx.maxRequestBytes), req.headers['content-encoding'], ctx.maxRequestBytes);
      const body = parseInferBody(raw, req.headers[INFERENCE_HEADER]);
      const result = await ctx.dataPlane.infer(model, v, body.request, 'http', admission);
      const response = inferResponseBody(result, body.binaryOutput);
      res.writeHead(200, { ...response.headers, 'content-length': Buffer.byteLength(response.body) });
      res.end(response.body);
    } finally {
      admission.release();
    }
  };
  route('POST', '/v2/models/:name/infer', infer);
  route('POST', '/v2/models/:name/versions/:version/infer', infer);

  route('POST', '/v2/repository/index', async (req, res) => {
    const body = await readJson(req, ctx.maxRequestBytes, RepositoryIndexRequest, {});
    const rows = (await ctx.registry.listModels()).flatMap((m) =>
      m.versions.map((v) => {
        const isReady = ctx.server.isReady(m.name, v.version);
        const reason = !m.deployment.serving ? 'unloaded' : v.stage === 'archived' ? 'archived' : isReady ? '' : 'loads on first request';
        return { name: m.name, version: String(v.version), state: isReady ? 'READY' : 'UNAVAILABLE', reason, stage: v.stage };
      })
    );
    sendJson(res, 200, body.ready ? rows.filter((r) => r.state === 'READY') : rows);
  });

  route('POST', '/v2/repository/models/:name/load', async (req, res, { name }, principal) => {
    const model = name!;
    const body = await readJson(req, ctx.maxRequestBytes, RepositoryLoadRequest, {});
    const { files, config } = repositoryFiles(body.parameters ?? {});
    const actor = actorOf(principal);
    if (files.size === 0) {
      const summary = await ctx.deployer.load(model, actor);
      sendJson(res, 200, { model_name: model, serving: summary.deployment.serving });
      return;
    }
    const { version, created } = await ctx.deployer.register(model, files, { stage: 'staging', batching: config }, actor);
    if (!(await ctx.registry.getModel(model))!.deployment.serving) await ctx.deployer.load(model, actor);
    sendJson(res, 200, { model_name: model, model_version: String(version.version), sha256: version.sha256, created });
  });

  route('POST', '/v2/repository/models/:name/unload', async (req, res, { name }, principal) => {
    const model = name!;
    await readJson(req, ctx.maxRequestBytes, RepositoryLoadRequest, {});
    await ctx.deployer.undeploy(model, undefined, actorOf(principal));
    sendJson(res, 200, { model_name: model, serving: false });
  });

  route('GET', '/metrics', async (_req, res) => {
    sendText(res, 200, await ctx.metrics.registry.metrics(), ctx.metrics.registry.contentType);
  });

  // The Jupyter server extension's: a token for the Jupyter user, made on first use (docs/protocol.md).
  route('POST', '/v2/nbdeploy/users/:name/tokens', async (req, res, { name }, principal) => {
    const body = await readJson(req, ctx.maxRequestBytes, ServerExtensionTokenRequest, {});
    const user = name!;
    const actor = actorOf(principal);
    const existing = await ctx.users.ensureUser({ name: user, role: body.role ?? 'deployer' }, actor);
    const token = await ctx.users.issueToken(user, body.label ?? 'jupyter', actor);
    sendJson(res, 200, { user, role: existing.role, token });
  });

  const held = (router as unknown as { routes: Array<{ method: string; path: string }> }).routes;
  return { handle: (req, res) => router.lookup(req, res), routes: held.map((r) => `${r.method} ${r.path}`) };
}

/** The principal of the health probes, which need no token. */
const ANONYMOUS: Principal = { user: 'anonymous', role: 'inference', models: null, service: false };

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
    const { dynamic_batching: dynamic, instance_group: groups } = parsed.data;
    if (dynamic?.max_queue_delay_microseconds !== undefined) config.maxQueueDelayMicros = dynamic.max_queue_delay_microseconds;
    if (dynamic?.default_queue_policy?.max_queue_size !== undefined) config.maxQueueSize = dynamic.default_queue_policy.max_queue_size;
    if (groups && groups.length > 0) {
      const instances = groups.reduce((n, g) => n + (g.count ?? 1), 0);
      if (instances > MAX_INSTANCES) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `config: instance_group counts add up to ${instances}; at most ${MAX_INSTANCES}` });
      config.instances = instances;
    }
  }
  return { files, config };
}

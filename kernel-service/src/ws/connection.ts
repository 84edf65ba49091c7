/**
 * One notebook connection on /ws: parses each frame with the protocol's schemas, runs the
 * request, and replies with the request's id. A malformed frame gets an error reply and
 * the connection lives on. When the client stops reading its replies, the connection
 * stops reading its requests until the send buffer drains.
 */
import type { WebSocket } from 'ws';
import { actorOf } from '../auth.js';
import { ServiceError, asServiceError } from '../errors.js';
import { type Principal, authorize } from '../people/authorize.js';
import { WS_PERMISSIONS } from '../people/permissions.js';
import type { GatePolicy } from '../serving/production-gate.js';
import { type Tensor, tensorFromBytes, tensorToBytes, tensorToJsonText } from '../protocol/datatypes.js';
import { type RequestTensor, decodeJsonInput } from '../serving/admission.js';
import {
  type Batching,
  type BinaryInferMessage,
  BinaryMessage,
  type DeployMessage,
  type FeedbackMessage,
  type InferMessage,
  type RegisterMessage,
  TextMessage,
  type ValidateMessage,
  binaryFrame,
  splitBinaryFrame
} from '../protocol/notebook.js';
import { describeIssues } from '../protocol/oip.js';
import { auditView, modelView, validationView } from '../protocol/views.js';
import { MODEL_FILE } from '../registry/artifact-store.js';
import type { Actor, BatchingConfig, ModelSummary, Registry } from '../registry/registry.js';
import type { DataPlane, InferResult } from '../serving/data-plane.js';
import type { Deployer } from '../serving/deployer.js';
import type { AlertEngine } from '../monitoring/alerts.js';
import type { Monitor } from '../monitoring/monitor.js';
import { monitorOutput } from '../monitoring/monitor-payload.js';
import { redact } from '../monitoring/webhooks.js';
import { validationPage } from '../validation/report-page.js';
import { capturedReply, setCapture } from './capture-messages.js';
import { replayReply } from './replay-messages.js';
import { inspectReply } from './inspect-messages.js';
import type { ReplayStore } from '../replay/replay-store.js';
import { VersionValidation } from '../validation/validate-version.js';
import { ALL_MODELS, type LiveEvents } from './live-events.js';

export interface ConnectionContext {
  registry: Registry;
  dataPlane: DataPlane;
  /** Where replays are kept (with monitoring). */
  replays?: ReplayStore;
  /** Absent in contexts without monitoring (then `status` is refused and feedback is only stored). */
  monitor?: Monitor;
  /** Absent without monitoring, like `monitor`. */
  alerts?: AlertEngine;
  /** How many service-wide webhooks (--alert-webhook) there are; their URLs are not shown. */
  serviceWebhooks?: number;
  deployer: Deployer;
  live: LiveEvents;
  /** Who sends: the connection's token looked up again for every message (a revoked user is refused at once). */
  principal: () => Promise<Principal>;
  /** Production's gate (the validation gate, four eyes), shown per version. */
  gate: GatePolicy;
  /** Send-buffer bytes past which the connection stops reading requests. */
  highWaterBytes: number;
}

type RequestId = string | number | null;

export class Connection {
  constructor(
    private readonly _socket: WebSocket,
    private readonly _ctx: ConnectionContext
  ) {
    _socket.on('message', (data, isBinary) => this._onMessage(data as Buffer, isBinary));
  }

  private _onMessage(data: Buffer, isBinary: boolean): void {
    let work: Promise<void>;
    if (isBinary) {
      work = this._onBinary(data);
    } else {
      work = this._onText(data);
    }
    work.catch((error: unknown) => this._replyError(null, error));
  }

  private async _onText(data: Buffer): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(data.toString('utf8'));
    } catch (error) {
      this._replyError(null, new ServiceError('NBD_ERR_BAD_FRAME', { reason: `not JSON: ${(error as Error).message}` }));
      return;
    }
    const principal = await this._sender(raw);
    if (!principal) return;
    const parsed = TextMessage.safeParse(raw);
    if (!parsed.success) {
      this._replyError(idOf(raw), new ServiceError('NBD_ERR_BAD_FRAME', { reason: describeIssues(parsed.error) }));
      return;
    }
    const msg = parsed.data;
    try {
      await this._handle(msg, principal);
    } catch (error) {
      this._replyError(msg.id, error);
    }
  }

  /** The sender, if allowed; else the refusal is the reply, and null. */
  private async _sender(raw: unknown): Promise<Principal | null> {
    try {
      return await this._authorize(raw);
    } catch (error) {
      this._replyError(idOf(raw), error);
      return null;
    }
  }

  /**
   * The sender, if the permission table lets them send this message (before its schema is
   * checked: a refused sender learns nothing about the message). A revoked token ends the connection.
   */
  private async _authorize(raw: unknown): Promise<Principal> {
    let principal: Principal;
    try {
      principal = await this._ctx.principal();
    } catch (error) {
      const failure = asServiceError(error);
      setImmediate(() => this._socket.close(failure.closeCode, failure.message.slice(0, 120)));
      throw failure;
    }
    const fields = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
    const type = fields.type;
    if (typeof type === 'string' && Object.hasOwn(WS_PERMISSIONS, type)) {
      authorize(principal, WS_PERMISSIONS[type]!, `send "${type}"`, typeof fields.model === 'string' ? fields.model : undefined, fields);
    } else if (typeof type === 'string' && TextOrBinaryTypes.has(type)) {
      throw new ServiceError('NBD_ERR_INTERNAL', { reason: `message type "${type}" has no entry in people/permissions.ts` });
    }
    return principal;
  }

  private async _onBinary(data: Buffer): Promise<void> {
    let header: unknown;
    let payload: Buffer;
    try {
      ({ header, payload } = splitBinaryFrame(data));
    } catch (error) {
      this._replyError(null, new ServiceError('NBD_ERR_BAD_FRAME', { reason: (error as Error).message }));
      return;
    }
    const principal = await this._sender(header);
    if (!principal) return;
    const parsed = BinaryMessage.safeParse(header);
    if (!parsed.success) {
      this._replyError(idOf(header), new ServiceError('NBD_ERR_BAD_FRAME', { reason: describeIssues(parsed.error) }));
      return;
    }
    const msg = parsed.data;
    try {
      if (msg.type === 'register') await this._register(msg, payload, principal);
      else if (msg.type === 'validate') await this._validate(msg, tensorsOf(msg.inputs, payload), principal);
      else await this._inferBinary(msg, payload);
    } catch (error) {
      this._replyError(msg.id, error);
    }
  }

  private async _handle(msg: TextMessage, principal: Principal): Promise<void> {
    const { registry, deployer, live, gate } = this._ctx;
    const actor = actorOf(principal, msg.context);
    const view = (summary: ModelSummary) => modelView(summary, gate);
    switch (msg.type) {
      case 'list':
        return this._reply({ type: 'models', id: msg.id, models: (await registry.listModels()).map(view) });
      case 'get_model': {
        const summary = await registry.getModel(msg.model);
        if (!summary) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model: msg.model });
        return this._reply({ type: 'model', id: msg.id, model: view(summary) });
      }
      case 'deploy':
        return this._deployment(msg.id, await deployer.deploy(msg.model, msg.version, deployOptions(msg), actor));
      case 'promote':
        return this._deployment(msg.id, await deployer.deploy(msg.model, msg.version, { stage: 'production', override: msg.override, gates: msg.gates }, actor));
      case 'set_canary':
        return this._deployment(msg.id, await deployer.deploy(msg.model, msg.version, { canaryPercent: msg.percent, gates: msg.gates }, actor));
      case 'set_shadow':
        return this._deployment(msg.id, await deployer.deploy(msg.model, msg.version, { shadow: msg.enabled }, actor));
      case 'set_integrity_policy':
        return this._deployment(msg.id, await deployer.setIntegrityPolicy(msg.model, msg.policy, actor));
      case 'set_capture':
        return this._deployment(msg.id, await setCapture(msg, deployer, this._ctx.monitor, actor));
      case 'captured':
        return this._reply(await capturedReply(msg, registry, this._ctx.monitor));
      case 'inspect':
        return this._reply(await inspectReply(msg, registry, this._ctx.monitor));
      case 'replay':
        return this._reply(await replayReply(msg, { registry, dataPlane: this._ctx.dataPlane, monitor: this._ctx.monitor, replays: this._ctx.replays, actor }, (frame) => this._reply(frame)));
      case 'rollback':
        return this._deployment(msg.id, await deployer.rollback(msg.model, actor));
      case 'undeploy':
        return this._deployment(msg.id, await deployer.undeploy(msg.model, msg.version, actor));
      case 'infer':
        return this._inferJson(msg);
      case 'feedback':
        return this._feedback(msg, actor);
      case 'validate':
        return this._validate(msg, msg.inputs.map((i) => decodeJsonInput(i.name, i.datatype, i.shape, i.data)), principal);
      case 'get_validation': {
        const validation = await registry.latestValidation(msg.model, msg.version);
        if (!validation) await this._requireVersion(msg.model, msg.version);
        const view = validation ? validationView(validation, await registry.reviews(msg.model, msg.version)) : null;
        return this._reply({ type: 'validation', id: msg.id, validation: view });
      }
      case 'validation_page': {
        const validation =
          msg.validation_id === undefined ? await registry.latestValidation(msg.model, msg.version) : await registry.getValidation(msg.validation_id);
        if (!validation || validation.model !== msg.model || validation.version !== msg.version) {
          await this._requireVersion(msg.model, msg.version);
          const which = msg.validation_id === undefined ? '' : ` #${msg.validation_id}`;
          throw new ServiceError('NBD_ERR_VALIDATION_NOT_FOUND', { model: msg.model, version: msg.version, which });
        }
        const html = await validationPage(validation, await registry.reviews(msg.model, msg.version));
        return this._reply({ type: 'validation_page', id: msg.id, validation_id: validation.id, html });
      }
      case 'get_profile': {
        const profile = await registry.getProfile(msg.model, msg.version);
        if (!profile) {
          throw new ServiceError((await registry.getModel(msg.model)) ? 'NBD_ERR_VERSION_NOT_FOUND' : 'NBD_ERR_MODEL_NOT_FOUND', { model: msg.model, version: msg.version });
        }
        return this._reply({ type: 'profile', id: msg.id, model: msg.model, version: msg.version, profile });
      }
      case 'review': {
        const review = await registry.addReview(msg.model, msg.version, msg.decision, msg.comment ?? '', actor);
        await this._ctx.deployer.announce(msg.model, 'review');
        return this._reply({ type: 'review_recorded', id: msg.id, review: { id: review.id, decision: review.decision, comment: review.comment, by: review.createdBy, at: review.createdAt } });
      }
      case 'subscribe': {
        if (msg.model === ALL_MODELS) {
          live.subscribe(this._socket, ALL_MODELS);
          return this._reply({ type: 'subscribed', id: msg.id, model: ALL_MODELS, models: (await registry.listModels()).map(view) });
        }
        const summary = await registry.getModel(msg.model);
        if (!summary) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model: msg.model });
        live.subscribe(this._socket, msg.model);
        return this._reply({ type: 'subscribed', id: msg.id, model: view(summary) });
      }
      case 'unsubscribe':
        live.unsubscribe(this._socket, msg.model);
        return this._reply({ type: 'unsubscribed', id: msg.id, model: msg.model });
      case 'audit':
        return this._reply({ type: 'audit', id: msg.id, entries: (await registry.audit({ model: msg.model, limit: msg.limit })).map(auditView) });
      case 'status': {
        await this._requireModel(msg.model, msg.version);
        if (!this._ctx.monitor) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: 'this service runs without monitoring' });
        const status = await this._ctx.monitor.status(msg.model, msg.last_seconds ?? 900, msg.version, {
          driftMethod: msg.drift_method,
          driftThresholds: msg.drift_thresholds
        });
        const alerts = (await this._ctx.alerts?.alerts({ model: msg.model, since: Date.parse(status.from) })) ?? [];
        return this._reply({ type: 'status', id: msg.id, ...status, alerts });
      }
      case 'get_alert_rules':
        return this._alertRules(msg.id, await this._alertsOf(msg.model), msg.model);
      case 'set_alert_rules': {
        const alerts = await this._alertsOf(msg.model);
        let saved;
        try {
          saved = await alerts.setRules(msg.model, msg.rules);
        } catch (error) {
          if (error instanceof RangeError) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: error.message });
          throw error;
        }
        await registry.appendAudit(actor, 'alert_rules', msg.model, null, msg.rules === null ? { rules: 'defaults' } : { rules: saved.rules });
        return this._alertRules(msg.id, alerts, msg.model);
      }
      case 'set_alert_webhooks': {
        const alerts = await this._alertsOf(msg.model);
        await alerts.setWebhooks(msg.model, msg.webhooks);
        // Webhook paths are often secrets (Slack's are): the audit log keeps the hosts.
        await registry.appendAudit(actor, 'alert_webhooks', msg.model, null, { webhooks: msg.webhooks.map(redact) });
        return this._alertRules(msg.id, alerts, msg.model);
      }
      case 'list_alerts': {
        if (msg.model !== undefined && !(await registry.getModel(msg.model))) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model: msg.model });
        if (!this._ctx.alerts) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: 'this service runs without monitoring, so without alerts' });
        const since = msg.last_seconds === undefined ? undefined : Date.now() - msg.last_seconds * 1000;
        return this._reply({ type: 'alerts', id: msg.id, alerts: await this._ctx.alerts.alerts({ model: msg.model, state: msg.state, since, limit: msg.limit }) });
      }
      case 'monitor': {
        await this._requireModel(msg.model, msg.version);
        if (!this._ctx.monitor) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: 'this service runs without monitoring' });
        const alerts = this._ctx.alerts;
        const output = await monitorOutput(
          this._ctx.monitor,
          msg.model,
          { lastSeconds: msg.last_seconds ?? 900, version: msg.version, since: msg.since, svg: msg.svg },
          alerts ? (since) => alerts.alerts({ model: msg.model, since }) : undefined
        );
        return this._reply({ type: 'monitor', id: msg.id, ...output });
      }
    }
  }

  /** Refuses a model (or a version of it) the registry does not know. */
  private async _requireModel(model: string, version: number | undefined): Promise<void> {
    if (!(await this._ctx.registry.getModel(model))) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
    if (version !== undefined && !(await this._ctx.registry.getVersion(model, version))) {
      throw new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model, version });
    }
  }

  /** Refuses a version the registry does not know, naming the model when that is what is unknown. */
  private async _requireVersion(model: string, version: number): Promise<void> {
    if (await this._ctx.registry.getVersion(model, version)) return;
    throw new ServiceError((await this._ctx.registry.getModel(model)) ? 'NBD_ERR_VERSION_NOT_FOUND' : 'NBD_ERR_MODEL_NOT_FOUND', { model, version });
  }

  /** The alert engine, for a model that exists. */
  private async _alertsOf(model: string): Promise<AlertEngine> {
    await this._requireModel(model, undefined);
    if (!this._ctx.alerts) throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: 'this service runs without monitoring, so without alerts' });
    return this._ctx.alerts;
  }

  private async _alertRules(id: RequestId, alerts: AlertEngine, model: string): Promise<void> {
    const { rules, custom } = await alerts.rules(model);
    this._reply({ type: 'alert_rules', id, model, rules, custom, webhooks: await alerts.webhooks(model), service_webhooks: this._ctx.serviceWebhooks ?? 0 });
  }

  private async _register(msg: RegisterMessage, payload: Buffer, principal: Principal): Promise<void> {
    if (payload.length === 0) {
      throw new ServiceError('NBD_ERR_BAD_FRAME', { reason: 'register carries the ONNX bytes as the payload of its binary frame; it is empty' });
    }
    const { version, created } = await this._ctx.deployer.register(
      msg.model,
      new Map([[MODEL_FILE, payload]]),
      { metadata: msg.metadata, profile: msg.profile, batching: batchingOf(msg.batching) },
      actorOf(principal, msg.context)
    );
    this._reply({ type: 'registered', id: msg.id, model: msg.model, version: version.version, sha256: version.sha256, created, signature: version.signature });
  }

  private async _inferJson(msg: InferMessage): Promise<void> {
    const inputs = msg.inputs.map((i) => decodeJsonInput(i.name, i.datatype, i.shape, i.data));
    const result = await this._infer(msg, inputs);
    this._send(
      `{"type":"infer_result","id":${JSON.stringify(msg.id)},"model_name":${JSON.stringify(result.modelName)},` +
        `"model_version":${result.modelVersion},"request_id":${JSON.stringify(result.id)},` +
        `"outputs":[${result.outputs.map(tensorToJsonText).join(',')}]}`
    );
  }

  /** The service computes the report, stores it under this connection's actor, and replies with it. */
  private async _validate(msg: Omit<ValidateMessage, 'inputs'>, inputs: RequestTensor[], principal: Principal): Promise<void> {
    const { registry, dataPlane } = this._ctx;
    const validation = await new VersionValidation(registry, dataPlane).validate({ ...msg, inputs }, actorOf(principal, msg.context));
    await this._ctx.deployer.announce(msg.model, 'validate');
    this._reply({ type: 'validation_recorded', id: msg.id, validation: validationView(validation, []) });
  }

  private async _inferBinary(msg: BinaryInferMessage, payload: Buffer): Promise<void> {
    const inputs = tensorsOf(msg.inputs, payload);
    const result = await this._infer(msg, inputs);
    const header = {
      type: 'infer_result',
      id: msg.id,
      model_name: result.modelName,
      model_version: result.modelVersion,
      request_id: result.id,
      outputs: result.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }))
    };
    this._send(binaryFrame(header, result.outputs.map(tensorToBytes)));
  }

  private _infer(msg: InferMessage | BinaryInferMessage, inputs: RequestTensor[]): Promise<InferResult> {
    return this._ctx.dataPlane.infer(msg.model, msg.version, { id: msg.request_id, inputs, outputs: msg.outputs, monitor: msg.monitor }, 'ws');
  }

  private async _feedback(msg: FeedbackMessage, actor: Actor): Promise<void> {
    if (msg.ground_truth.length !== msg.request_ids.length) {
      throw new ServiceError('NBD_ERR_BAD_REQUEST', {
        issues: `ground_truth has ${msg.ground_truth.length} values for ${msg.request_ids.length} request ids; give one per id`
      });
    }
    if (!(await this._ctx.registry.getModel(msg.model))) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model: msg.model });
    const records = msg.request_ids.map((requestId, i) => ({ requestId, model: msg.model, groundTruth: msg.ground_truth[i] }));
    const count = await this._ctx.registry.recordFeedback(records, actor);
    // Performance of the windows the predictions belong to (stored feedback stays the record).
    // A failing join must not make the stored feedback look refused; the ground truth is kept.
    // The join runs in the monitoring worker after every prediction served before it.
    try {
      await this._ctx.monitor?.feedback(msg.model, records);
    } catch {
      // (the performance of these rows stays unjoined)
    }
    this._reply({ type: 'feedback_recorded', id: msg.id, model: msg.model, count });
  }

  private _deployment(id: RequestId, summary: ModelSummary): void {
    this._reply({ type: 'deployment', id, model: modelView(summary, this._ctx.gate) });
  }

  private _reply(message: Record<string, unknown>): void {
    this._send(JSON.stringify(message));
  }

  private _replyError(id: RequestId, error: unknown): void {
    const failure = asServiceError(error);
    const retry = failure.params.retry_after;
    this._reply({ type: 'error', id, code: failure.code, error: failure.message, status: failure.status, ...(retry !== undefined ? { retry_after: retry } : {}) });
  }

  private _send(frame: string | Buffer): void {
    const socket = this._socket;
    if (socket.readyState !== socket.OPEN) return;
    this._cork();
    socket.send(frame);
    // Backpressure: a client that does not read its replies stops being read from.
    if (socket.bufferedAmount > this._ctx.highWaterBytes && !this._paused) {
      this._paused = true;
      socket.pause();
      const check = setInterval(() => {
        if (socket.readyState !== socket.OPEN || socket.bufferedAmount <= this._ctx.highWaterBytes / 2) {
          clearInterval(check);
          this._paused = false;
          if (socket.readyState === socket.OPEN) socket.resume();
        }
      }, 20);
    }
  }

  /**
   * Replies finished in the same turn of the event loop (a batch's, say) leave in one write
   * rather than one system call each: the TCP socket under the WebSocket is corked until
   * the current microtasks have run.
   */
  private _cork(): void {
    if (this._corked) return;
    const raw = (this._socket as unknown as { _socket?: { cork?: () => void; uncork: () => void } })._socket;
    if (typeof raw?.cork !== 'function') return;
    this._corked = true;
    raw.cork();
    process.nextTick(() => {
      this._corked = false;
      raw.uncork();
    });
  }

  private _paused = false;
  private _corked = false;
}

/** Every message type the schemas accept: each must have an entry in the permission table. */
const TextOrBinaryTypes = new Set<string>([...TextMessage.options, ...BinaryMessage.options].map((o) => o.shape.type.value));

function idOf(raw: unknown): RequestId {
  if (raw && typeof raw === 'object' && 'id' in raw) {
    const id = (raw as { id: unknown }).id;
    if (typeof id === 'string' || typeof id === 'number') return id;
  }
  return null;
}

/** The tensors a binary frame's header describes, read from its payload (which they must fill exactly). */
function tensorsOf(headers: BinaryInferMessage['inputs'], payload: Buffer): Tensor[] {
  const inputs: Tensor[] = [];
  let offset = 0;
  for (const h of headers) {
    const { tensor, used } = tensorFromBytes(h.name, h.datatype, h.shape, payload, offset);
    inputs.push(tensor);
    offset += used;
  }
  if (offset !== payload.length) {
    throw new ServiceError('NBD_ERR_BAD_FRAME', { reason: `the payload has ${payload.length - offset} bytes past the tensors its header describes` });
  }
  return inputs;
}

function batchingOf(b: Batching | undefined): Partial<BatchingConfig> | undefined {
  if (!b) return undefined;
  const out: Partial<BatchingConfig> = {};
  if (b.max_batch_size !== undefined) out.maxBatchSize = b.max_batch_size;
  if (b.max_queue_delay_us !== undefined) out.maxQueueDelayMicros = b.max_queue_delay_us;
  if (b.instances !== undefined) out.instances = b.instances;
  if (b.max_queue_size !== undefined) out.maxQueueSize = b.max_queue_size;
  return out;
}

function deployOptions(msg: DeployMessage) {
  return { stage: msg.stage, canaryPercent: msg.canary_percent, shadow: msg.shadow, batching: batchingOf(msg.batching), override: msg.override, gates: msg.gates };
}

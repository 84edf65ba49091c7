/**
 * The control plane: registering versions and changing deployments. Every change follows
 * the same order, which is what makes hot swap atomic and failures harmless:
 *   1. load and warm every version the change needs (a failure changes nothing);
 *   2. write the change and its audit entry in one registry transaction;
 *   3. swap the model's routes in one step, releasing versions that left after they drain.
 * Changes to one model run one at a time.
 */
import { EventEmitter } from 'node:events';
import { ServiceError } from '../errors.js';
import type { IntegrityPolicy } from '../protocol/integrity.js';
import { type ArtifactStore, MODEL_FILE } from '../registry/artifact-store.js';
import { checkReplayGates } from '../replay/replay-gates.js';
import type { ReplayStore } from '../replay/replay-store.js';
import { type Actor, type BatchingConfig, type CaptureSettings, DEFAULT_BATCHING, type DeploymentChange, type ModelSummary, type Registry, type Stage, type VersionRecord } from '../registry/registry.js';
import { readModelFile } from '../runtime/model-file.js';
import { ModelInstance } from '../runtime/model-instance.js';
import type { RuntimeOptions } from '../runtime/onnx-model.js';
import { ModelServer } from './model-server.js';
import { DEFAULT_GATE, type GatePolicy, productionGate } from './production-gate.js';

export interface RegisterOptions {
  metadata?: Record<string, unknown>;
  profile?: Record<string, unknown>;
  batching?: Partial<BatchingConfig>;
  stage?: Exclude<Stage, 'production' | 'archived'>;
}

export interface DeployOptions {
  /** production: takes the traffic (hot swap); staging: served at its versioned route only. */
  stage?: 'production' | 'staging';
  /** Send this share (0–100) of the model's traffic to the version instead. */
  canaryPercent?: number;
  /** Mirror the model's traffic to the version; its answers go only to monitoring. */
  shadow?: boolean;
  batching?: Partial<BatchingConfig>;
  /** Goes to production without a passing validation report; the reason is audited. */
  override?: string;
  /** Replay gates read against the version's latest replay (`replay_agreement`, `<metric>_delta`); refused when one fails. */
  gates?: Readonly<Record<string, string>>;
}

export interface DeploymentEvents {
  change: [summary: ModelSummary, action: string];
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class Deployer extends EventEmitter<DeploymentEvents> {
  constructor(
    private readonly _registry: Registry,
    private readonly _store: ArtifactStore,
    private readonly _server: ModelServer,
    private readonly _runtime: RuntimeOptions,
    /** What production needs (or an admin's override reason). */
    readonly gate: GatePolicy = DEFAULT_GATE,
    /** Where replays are kept, for deploys with replay gates. */
    private readonly _replays?: ReplayStore
  ) {
    super();
  }

  /**
   * Registers a model version from its files (`model.onnx`, external data beside it).
   * The model is checked and loaded once before anything is kept, so a corrupt model
   * never reaches the registry. The same bytes registered again return the existing version.
   */
  register(model: string, files: ReadonlyMap<string, Uint8Array>, options: RegisterOptions, actor: Actor): Promise<{ version: VersionRecord; created: boolean }> {
    return this._tracked(() => this._register(model, files, options, actor));
  }

  /** Refuses new changes from now on; resolves once those running have finished (shutdown). */
  async drain(): Promise<void> {
    this._closing = true;
    while (this._running.size > 0) {
      await Promise.allSettled([...this._running]);
    }
  }

  private async _register(model: string, files: ReadonlyMap<string, Uint8Array>, options: RegisterOptions, actor: Actor): Promise<{ version: VersionRecord; created: boolean }> {
    checkModelName(model);
    const staged = await this._store.stage(files);
    try {
      const info = readModelFile(files.get(MODEL_FILE)!, staged.folder);
      // Loaded once in a worker thread of its own, to read its signature off the event loop.
      const probe = await ModelInstance.start(`${staged.folder}/${MODEL_FILE}`, { ...this._runtime, warm: false, label: `model "${model}" (new version)`, log: () => {} });
      const signature = probe.signature;
      await probe.release();
      await this._store.commit(staged);
      return await this._queued(model, async () => {
        const result = await this._registry.registerVersion(
          {
            model,
            sha256: staged.sha256,
            artifact: staged.key,
            signature,
            metadata: { ...info.metadata, producer: info.producer, opsets: info.opsets, ...options.metadata },
            batching: { ...DEFAULT_BATCHING, ...options.batching },
            stage: options.stage ?? 'none',
            profile: options.profile
          },
          actor
        );
        if (result.created) {
          await this._apply(model, null, actor, 'register');
        }
        return result;
      });
    } catch (error) {
      await this._store.discard(staged);
      throw error;
    }
  }

  async deploy(model: string, version: number, options: DeployOptions, actor: Actor): Promise<ModelSummary> {
    const { stage = 'production', canaryPercent, shadow, batching } = options;
    if (canaryPercent !== undefined && (canaryPercent < 0 || canaryPercent > 100)) {
      throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `canary percent must be within 0–100, got ${canaryPercent}` });
    }
    if ((canaryPercent !== undefined || shadow) && stage === 'production' && options.stage !== undefined) {
      throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: 'a canary or shadow version is not in production: leave out stage, or use stage "staging"' });
    }
    return this._serialized(model, async () => {
      const record = await this._requireVersion(model, version);
      // Checked first: a held version changes nothing, its batching included.
      const gated = options.gates && Object.keys(options.gates).length > 0 ? { replay_gates: await checkReplayGates(this._replays, model, version, options.gates) } : {};
      if (batching) {
        const next = { ...record.batching, ...batching };
        // New instances load before the change is written, as a new version would.
        await this._server.scale(record, next.instances);
        await this._change(model, { kind: 'batching', version, batching: next }, actor);
      }
      if (canaryPercent !== undefined) {
        return this._change(model, { kind: 'canary', version, percent: canaryPercent }, actor, gated);
      }
      if (shadow !== undefined) {
        return this._change(model, { kind: 'shadow', version, enabled: shadow }, actor, gated);
      }
      if (stage === 'staging') {
        return this._change(model, { kind: 'stage', version, stage: 'staging' }, actor, gated);
      }
      await this._checkValidation(model, version, options.override);
      const details = options.override !== undefined ? { override: options.override, ...gated } : gated;
      return this._change(model, { kind: 'promote', version }, actor, details);
    });
  }

  rollback(model: string, actor: Actor): Promise<ModelSummary> {
    return this._serialized(model, () => this._change(model, { kind: 'rollback' }, actor));
  }

  /** Without a version: the model stops being served (Triton's unload). With one: archives it. */
  undeploy(model: string, version: number | undefined, actor: Actor): Promise<ModelSummary> {
    return this._serialized(model, () =>
      version === undefined
        ? this._change(model, { kind: 'serving', serving: false }, actor)
        : this._change(model, { kind: 'stage', version, stage: 'archived' }, actor)
    );
  }

  /** Serves a model again after an unload (Triton's load without files). */
  load(model: string, actor: Actor): Promise<ModelSummary> {
    return this._serialized(model, () => this._change(model, { kind: 'serving', serving: true }, actor));
  }


  /** Changes what the model's data integrity checks refuse or serve (kinds left out keep theirs). */
  setIntegrityPolicy(model: string, changes: Partial<IntegrityPolicy>, actor: Actor): Promise<ModelSummary> {
    return this._serialized(model, async () => {
      const current = await this._registry.getModel(model);
      if (!current) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
      if (changes.null_spike === 'refuse') {
        throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: 'null_spike is decided per window, after requests are answered: it can only be "serve"' });
      }
      return this._change(model, { kind: 'integrity_policy', policy: { ...current.deployment.integrityPolicy, ...changes } }, actor, { changed: changes });
    });
  }

  /** Keeps a share of the model's served requests (inputs and answers) for `retentionDays`; null stops keeping them. */
  setCapture(model: string, capture: CaptureSettings | null, actor: Actor): Promise<ModelSummary> {
    return this._serialized(model, async () => {
      if (!(await this._registry.getModel(model))) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
      return this._change(model, { kind: 'capture', capture }, actor);
    });
  }

  /**
   * Serves what the registry now says of a model that another replica changed (replica-sync.ts):
   * the versions it needs load and warm first, then the routes swap in one step, as for a change
   * made here. Nothing happens when this process already serves that state.
   */
  adopt(model: string): Promise<void> {
    return this._serialized(model, async () => {
      const summary = await this._registry.getModel(model);
      if (!summary || this._applied.get(model) === servedState(summary)) return;
      for (const record of summary.versions) await this._server.scale(record, record.batching.instances);
      await this._server.refresh(summary);
      this._applied.set(model, servedState(summary));
      const [latest] = await this._registry.audit({ model, limit: 1 });
      this.emit('change', summary, latest?.action ?? 'sync');
    });
  }

  /** Tells subscribers that something about the model changed outside a deployment (a validation, a review). */
  async announce(model: string, action: string): Promise<void> {
    const summary = await this._registry.getModel(model);
    if (summary) this.emit('change', summary, action);
  }

  private async _change(model: string, change: DeploymentChange, actor: Actor, details?: Record<string, unknown>): Promise<ModelSummary> {
    const current = await this._registry.getModel(model);
    if (!current) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
    return this._apply(model, change, actor, change.kind, details, current);
  }

  /** Steps 1–3 above (`current`: the model as read just before, within this model's queue). */
  private async _apply(model: string, change: DeploymentChange | null, actor: Actor, action: string, details?: Record<string, unknown>, current?: ModelSummary): Promise<ModelSummary> {
    current ??= (await this._registry.getModel(model))!;
    const projected = change ? projectChange(current, change, await this._registry.rollbackTarget(model)) : current;
    for (const v of ModelServer.neededVersions(projected)) {
      await this._server.ensureLoaded(projected.versions.find((r) => r.version === v)!);
    }
    const summary = change ? await this._registry.changeDeployment(model, change, actor, details) : current;
    // The routes are rebuilt from the written summary and swapped in one assignment.
    await this._server.refresh(summary);
    this._applied.set(model, servedState(summary));
    this.emit('change', summary, action);
    return summary;
  }

  /** Production's gate (production-gate.ts); an override reason (the admin's) skips it and is audited. */
  private async _checkValidation(model: string, version: number, override: string | undefined): Promise<void> {
    if (override !== undefined && !override.trim()) {
      throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: 'override needs a reason, e.g. override="hotfix approved by the on-call lead"' });
    }
    if (override !== undefined) return;
    const gate = productionGate(await this._requireVersion(model, version), this.gate);
    if (!gate.open) throw new ServiceError('NBD_ERR_VALIDATION_REQUIRED', { model, version, reason: gate.reason! });
  }

  private async _requireVersion(model: string, version: number): Promise<VersionRecord> {
    const record = await this._registry.getVersion(model, version);
    if (record) return record;
    if (!(await this._registry.getModel(model))) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
    throw new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model, version });
  }

  /** Counts a change as running (drain waits for it); refused once shutdown began. */
  private _tracked<T>(work: () => Promise<T>): Promise<T> {
    if (this._closing) return Promise.reject(new ServiceError('NBD_ERR_SHUTTING_DOWN'));
    const running = work();
    this._running.add(running);
    const forget = (): void => {
      this._running.delete(running);
    };
    running.then(forget, forget);
    return running;
  }

  private _serialized<T>(model: string, work: () => Promise<T>): Promise<T> {
    return this._tracked(() => this._queued(model, work));
  }

  /** Runs after the model's previous change (callers inside a tracked change use this directly). */
  private _queued<T>(model: string, work: () => Promise<T>): Promise<T> {
    const previous = this._queues.get(model) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.then(
      () => {},
      () => {}
    );
    this._queues.set(model, settled);
    void settled.then(() => {
      if (this._queues.get(model) === settled) this._queues.delete(model);
    });
    return next;
  }

  private readonly _queues = new Map<string, Promise<void>>();
  /** What this process serves of each model, as servedState gives it (adopt skips what it already serves). */
  private readonly _applied = new Map<string, string>();
  private readonly _running = new Set<Promise<unknown>>();
  private _closing = false;
}

/** What of a model's summary decides how it is served: its deployment, and its versions' stages and batching. */
function servedState(summary: ModelSummary): string {
  const { updatedAt: _, ...deployment } = summary.deployment;
  return JSON.stringify([deployment, summary.versions.map((v) => [v.version, v.stage, v.batching])]);
}

function checkModelName(model: string): void {
  if (!MODEL_NAME.test(model)) {
    throw new ServiceError('NBD_ERR_BAD_REQUEST', {
      issues: `model name "${model}" must start with a letter or digit and contain only letters, digits, "_", "." and "-" (at most 128)`
    });
  }
}

/**
 * The deployment a change would produce, without writing it: used to load what the
 * change needs before it is committed. The registry applies the same rules when it writes.
 */
function projectChange(summary: ModelSummary, change: DeploymentChange, rollbackTarget: number | undefined): ModelSummary {
  const d = { ...summary.deployment };
  const versions = summary.versions.map((v) => ({ ...v }));
  const setStage = (version: number, stage: Stage): void => {
    const v = versions.find((r) => r.version === version);
    if (v) v.stage = stage;
  };
  switch (change.kind) {
    case 'promote':
      d.serving = true;
      d.production = change.version;
      setStage(change.version, 'production');
      break;
    case 'stage':
      setStage(change.version, change.stage);
      break;
    case 'canary':
      d.canary = change.percent > 0 ? { version: change.version, percent: change.percent } : null;
      break;
    case 'shadow':
      d.shadows = change.enabled ? [...d.shadows, change.version] : d.shadows.filter((v) => v !== change.version);
      break;
    case 'serving':
      d.serving = change.serving;
      break;
    case 'rollback':
      if (rollbackTarget !== undefined) {
        d.production = rollbackTarget;
        setStage(rollbackTarget, 'production');
      }
      break;
    case 'batching':
      break;
    case 'integrity_policy':
      d.integrityPolicy = change.policy;
      break;
    case 'capture':
      d.capture = change.capture;
      break;
  }
  return { ...summary, deployment: d, versions };
}

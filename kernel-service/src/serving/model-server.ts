/**
 * What is loaded and where traffic goes. For each model it holds a routing snapshot —
 * the primary version (production, or the newest version while there is none), the
 * canary with its share, the shadows — rebuilt from the registry after every change and
 * swapped in one assignment. Versions are loaded and warmed before a snapshot refers to
 * them; versions that leave every snapshot are released once their requests finish.
 */
import { personalDataOf } from '../registry/model-card.js';
import { ServiceError } from '../errors.js';
import type { ServiceMetrics } from '../metrics.js';
import path from 'node:path';
import { type ArtifactStore, MODEL_FILE } from '../registry/artifact-store.js';
import type { CaptureSettings, ModelSummary, Registry, VersionRecord } from '../registry/registry.js';
import type { RuntimeOptions } from '../runtime/onnx-model.js';
import { DEFAULT_INTEGRITY_POLICY, type IntegrityPolicy } from '../protocol/integrity.js';
import { IntegrityPlan } from './admission.js';
import { LoadedVersion } from './loaded-version.js';

export interface ModelRoutes {
  serving: boolean;
  primary: LoadedVersion | null;
  canary: { target: LoadedVersion; percent: number } | null;
  shadows: LoadedVersion[];
  integrity: IntegrityPolicy;
  capture: CaptureSettings | null;
  /** Versions that only evaluation requests reach (archived ones). */
  archived: ReadonlySet<number>;
}

/** The route a request takes: the version that answers, and the versions that shadow it. */
export interface Route {
  target: LoadedVersion;
  shadows: readonly LoadedVersion[];
  /** The deployment's integrity policy. */
  integrity: IntegrityPolicy;
  /** The deployment's capture of served requests (null for evaluation traffic). */
  capture: CaptureSettings | null;
}

const key = (model: string, version: number): string => `${model}@${version}`;

export class ModelServer {
  constructor(
    private readonly _registry: Registry,
    private readonly _store: ArtifactStore,
    private readonly _runtime: RuntimeOptions,
    private readonly _metrics: ServiceMetrics,
    private readonly _log: (message: string) => void = () => {}
  ) {
    _metrics.queues = () => this.queues();
  }

  /** Loads what the registry says is served; a model that fails to load is logged and skipped. */
  async start(): Promise<void> {
    for (const summary of await this._registry.listModels()) {
      try {
        await this.refresh(summary);
      } catch (error) {
        this._log(`model "${summary.name}" could not be loaded at start: ${(error as Error).message}`);
      }
    }
  }

  /** The versions a model's routes need loaded. */
  static neededVersions(summary: ModelSummary): number[] {
    const d = summary.deployment;
    if (!d.serving) return [];
    const needed = new Set<number>();
    const primary = d.production ?? newestServable(summary)?.version;
    if (primary !== undefined) needed.add(primary);
    if (d.canary) needed.add(d.canary.version);
    for (const s of d.shadows) needed.add(s);
    for (const v of summary.versions) if (v.stage === 'staging') needed.add(v.version);
    return [...needed];
  }

  /** Loads and warms a version (once; concurrent callers share the load). */
  async ensureLoaded(record: VersionRecord): Promise<LoadedVersion> {
    const k = key(record.model, record.version);
    let loading = this._loading.get(k);
    if (!loading) {
      loading = this._load(record).then(
        (loaded) => {
          this._ready.set(k, loaded);
          this._metrics.loadedVersions.set(this._ready.size);
          return loaded;
        },
        (error: unknown) => {
          this._loading.delete(k);
          throw error;
        }
      );
      this._loading.set(k, loading);
    }
    return loading;
  }

  /**
   * Gives a version `count` instances before a change that asks for them is written: new
   * instances load first (a failure changes nothing). A version not loaded gets them when it loads.
   */
  async scale(record: VersionRecord, count: number): Promise<void> {
    const loaded = this._ready.get(key(record.model, record.version)) ?? (await this._loading.get(key(record.model, record.version)));
    await loaded?.scale(count);
  }

  /** Requests waiting for a run, per loaded version (the queued-requests gauge). */
  queues(): Array<{ model: string; version: number; queued: number }> {
    return [...this._ready.values()].map((v) => ({ model: v.model, version: v.version, queued: v.queued }));
  }

  /** Rebuilds a model's routes from the registry and swaps them in; releases what left. */
  async refresh(summary: ModelSummary): Promise<void> {
    const needed = ModelServer.neededVersions(summary);
    const loaded = new Map<number, LoadedVersion>();
    for (const v of needed) {
      loaded.set(v, await this.ensureLoaded(summary.versions.find((r) => r.version === v)!));
    }
    for (const record of summary.versions) {
      this._ready.get(key(record.model, record.version))?.configureBatching(record.batching);
    }
    const d = summary.deployment;
    const primaryVersion = d.production ?? newestServable(summary)?.version;
    this._routes.set(summary.name, {
      serving: d.serving,
      primary: primaryVersion === undefined ? null : loaded.get(primaryVersion)!,
      canary: d.canary && d.canary.percent > 0 ? { target: loaded.get(d.canary.version)!, percent: d.canary.percent } : null,
      shadows: d.shadows.map((v) => loaded.get(v)!),
      integrity: d.integrityPolicy ?? DEFAULT_INTEGRITY_POLICY,
      capture: d.capture ?? null,
      archived: new Set(summary.versions.filter((r) => r.stage === 'archived').map((r) => r.version))
    });
    const keep = new Set(needed);
    for (const record of summary.versions) {
      if (!keep.has(record.version) && (record.stage === 'archived' || !d.serving)) {
        void this._retire(key(record.model, record.version));
      }
    }
  }

  /**
   * The route for a request: a named version, or the model's traffic split. Evaluation
   * requests (a validation run, kept out of monitoring) may also name an archived version,
   * which then loads on demand until the model's next change releases it.
   */
  route(model: string, version: number | undefined, evaluation = false): Route | Promise<Route> {
    const routes = this._routes.get(model);
    if (!routes) return this._notRouted(model);
    if (!routes.serving) throw new ServiceError('NBD_ERR_MODEL_UNAVAILABLE', { model });
    if (version !== undefined) {
      if (!evaluation && routes.archived.has(version)) throw new ServiceError('NBD_ERR_VERSION_ARCHIVED', { model, version });
      const capture = evaluation ? null : routes.capture;
      const ready = this._ready.get(key(model, version));
      if (ready) return { target: ready, shadows: [], integrity: routes.integrity, capture };
      return this._loadOnRequest(model, version).then((target) => ({ target, shadows: [], integrity: routes.integrity, capture }));
    }
    if (routes.canary && Math.random() * 100 < routes.canary.percent) {
      return { target: routes.canary.target, shadows: routes.shadows, integrity: routes.integrity, capture: routes.capture };
    }
    if (!routes.primary) throw new ServiceError('NBD_ERR_MODEL_UNAVAILABLE', { model });
    return { target: routes.primary, shadows: routes.shadows, integrity: routes.integrity, capture: routes.capture };
  }

  /** Whether a model (or one of its versions) answers requests now. */
  isReady(model: string, version?: number): boolean {
    const routes = this._routes.get(model);
    if (!routes?.serving) return false;
    return version === undefined ? routes.primary !== null : this._ready.has(key(model, version));
  }

  /** Releases every version once its in-flight requests finish. */
  async close(): Promise<void> {
    this._routes.clear();
    await Promise.all([...this._ready.keys()].map((k) => this._retire(k)));
  }

  /** Loads a version from its artifact's files, with the integrity plan of its training profile. */
  private async _load(record: VersionRecord): Promise<LoadedVersion> {
    const [folder, profile] = await Promise.all([this._store.localFolder(record.artifact), this._registry.getProfile(record.model, record.version)]);
    const loaded = await LoadedVersion.load(record, path.join(folder, MODEL_FILE), this._runtime, this._metrics, this._log);
    loaded.integrity = new IntegrityPlan(record.model, loaded.signature, profile, personalDataOf(record));
    return loaded;
  }

  /** A model without routes: unknown to the registry, or not loaded (yet). */
  private async _notRouted(model: string): Promise<never> {
    if (!(await this._registry.getModel(model))) throw new ServiceError('NBD_ERR_MODEL_NOT_FOUND', { model });
    throw new ServiceError('NBD_ERR_MODEL_UNAVAILABLE', { model });
  }

  /** Versions that are registered but not routed (a candidate under validation, an archived version validated again) load on demand. */
  private async _loadOnRequest(model: string, version: number): Promise<LoadedVersion> {
    const record = await this._registry.getVersion(model, version);
    if (!record) throw new ServiceError('NBD_ERR_VERSION_NOT_FOUND', { model, version });
    return this.ensureLoaded(record);
  }

  private async _retire(k: string): Promise<void> {
    const loaded = this._ready.get(k);
    this._ready.delete(k);
    this._loading.delete(k);
    this._metrics.loadedVersions.set(this._ready.size);
    await loaded?.release();
  }

  private readonly _routes = new Map<string, ModelRoutes>();
  private readonly _loading = new Map<string, Promise<LoadedVersion>>();
  private readonly _ready = new Map<string, LoadedVersion>();
}

/** The version served while a model has no production version: its newest one not archived. */
export function newestServable(summary: ModelSummary): VersionRecord | undefined {
  return summary.versions.filter((v) => v.stage !== 'archived').at(-1);
}

/**
 * One nbdeploy service: HTTP and WebSocket on one port, wired to the registry, the
 * artifact store, the model server, the data plane and the deployer. `start` opens it;
 * `stop` shuts it down gracefully: stop accepting, drain in-flight requests, close.
 *
 * On SQLite (the state dir's database) `new Service(options)` opens its storage at once; on
 * PostgreSQL (`database`), whose stores open asynchronously, `await Service.open(options)`
 * does (it works for both). With a database the state dir holds only local things (the
 * artifacts' cache, a token file) and takes no lock: replicas on one machine may share it.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Access, loadOrCreateToken, replicaToken } from './auth.js';
import { GrpcInferenceServer } from './grpc/grpc-server.js';
import { removeServiceNote, writeServiceNote } from './service-note.js';
import { createRouter } from './http/routes.js';
import { ServiceMetrics } from './metrics.js';
import { AlertEngine } from './monitoring/alerts.js';
import { Monitor } from './monitoring/monitor.js';
import { registerMonitoringMetrics } from './monitoring/prometheus.js';
import type { ReplayStore } from './replay/replay-store.js';
import { WebhookSender } from './monitoring/webhooks.js';
import { type ServiceOptions, resolveOptions } from './options.js';
import type { ArtifactStore } from './registry/artifact-store.js';
import type { Registry } from './registry/registry.js';
import type { UserStore } from './people/user-store.js';
import { type ServiceStorage, openPostgresStorage, openSqliteStorage } from './storage/service-storage.js';
import { StateLock } from './state-lock.js';
import { DataPlane } from './serving/data-plane.js';
import { ReplicaSync } from './serving/replica-sync.js';
import { Deployer } from './serving/deployer.js';
import { ModelServer } from './serving/model-server.js';
import { LiveEvents } from './ws/live-events.js';
import { NotebookSockets } from './ws/ws-server.js';

export { DATABASE_FILE } from './storage/sqlite-database.js';
export { ARTIFACTS_DIR } from './storage/service-storage.js';

export class Service {
  readonly options: ServiceOptions;
  readonly token: string;
  readonly registry: Registry;
  readonly users: UserStore;
  readonly store: ArtifactStore;
  readonly metrics = new ServiceMetrics();
  readonly server: ModelServer;
  readonly dataPlane: DataPlane;
  /** What replays found, for deploys gated on them. */
  readonly replays: ReplayStore;
  readonly deployer: Deployer;
  readonly live: LiveEvents;
  /** Absent with `monitoring: false` (`--no-monitoring`), and so are alerts. */
  readonly monitor: Monitor | undefined;
  readonly alerts: AlertEngine | undefined;
  readonly webhooks: WebhookSender | undefined;
  /** Adopts changes made through the service's other replicas (and notices none when there are none). */
  readonly replicaSync: ReplicaSync;

  /**
   * A service on SQLite, its storage opened here; a service on a PostgreSQL database is opened
   * with `Service.open` (which passes the storage it opened).
   */
  constructor(options: Partial<ServiceOptions> = {}, storage?: ServiceStorage) {
    this.options = resolveOptions(options);
    const { stateDir, log, database } = this.options;
    if (database && storage?.location.kind !== 'postgresql') throw new Error('a service on a PostgreSQL database is opened with `await Service.open(options)`');
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this._lock = this.options.join || database ? null : StateLock.acquire(stateDir);
    try {
      this.token = database ? replicaToken(stateDir, this.options.token) : loadOrCreateToken(stateDir, this.options.token);
      // One connection (SQLite) or pool (PostgreSQL) for the registry and the stores of this thread; the monitoring worker opens its own.
      this._storage = storage ?? openSqliteStorage(stateDir, { monitoring: this.options.monitoring });
      this.registry = this._storage.registry;
      this.users = this._storage.users;
      this.store = this._storage.artifacts;
      const runtime = { intraOpThreads: this.options.intraOpThreads };
      this.server = new ModelServer(this.registry, this.store, runtime, this.metrics, log);
      this.dataPlane = new DataPlane(this.server);
      this.replays = this._storage.replays;
      const gate = { validationGate: this.options.validationGate, fourEyes: this.options.fourEyes };
      this.deployer = new Deployer(this.registry, this.store, this.server, runtime, gate, this.replays);
      this.live = new LiveEvents(this.options.slowSubscriberBytes, gate);
      if (this.options.monitoring) {
        const monitor = new Monitor(this._storage.location, {
          windowSeconds: this.options.monitorWindowSeconds,
          retentionMs: this.options.monitorRetentionDays * 24 * 3600 * 1000,
          log
        });
        this.monitor = monitor;
        this.dataPlane.observe((event) => {
          if (event.monitored) monitor.observe(event);
        });
        const alerts = new AlertEngine(this.registry, this._storage.alerts!, (model, seconds, options) => monitor.status(model, seconds, undefined, options), {
          monitorWindowSeconds: this.options.monitorWindowSeconds,
          retentionMs: this.options.monitorRetentionDays * 24 * 3600 * 1000
        });
        this.alerts = alerts;
        const countIntegrity = registerMonitoringMetrics(this.metrics, { registry: this.registry, monitor, alerts, log });
        this.dataPlane.observe((event) => {
          if (event.monitored) countIntegrity(event);
        });
        const webhooks = new WebhookSender({ log });
        this.webhooks = webhooks;
        // Each alert in turn: the evaluation waits for its audit entry before telling the next.
        alerts.onAlert(async (alert) => {
          this.live.alert(alert);
          const action = alert.state === 'firing' ? 'alert_fired' : 'alert_resolved';
          await this.registry.appendAudit({ user: 'nbdeploy' }, action, alert.model, alert.version, { ...alert });
          webhooks.send([...this.options.alertWebhooks, ...(await alerts.webhooks(alert.model))], alert);
        });
        // Another replica leads: its alerts still reach the notebooks connected here.
        alerts.onAlertElsewhere((alert) => this.live.alert(alert));
        // Once a second, off the inference path: the live window stream, then the alert rules.
        monitor.onUpdate((updates, elsewhere) => {
          this.live.windowsUpdated(updates);
          alerts.evaluate([...updates.map((u) => u.model), ...elsewhere]).catch((error: Error) => log(`alert evaluation failed: ${error.message}`));
        });
      }
      this.deployer.on('change', (summary, action) => this.live.deploymentChanged(summary, action));
      this.replicaSync = new ReplicaSync(this.registry, this.deployer, {
        intervalMs: this.options.replicaSyncMs,
        log,
        onAdopted: () => this.alerts?.forgetRules()
      });
    } catch (error) {
      this._lock?.release();
      throw error;
    }
  }

  /**
   * Opens a service on where `options` say its state lives: the state dir's SQLite database,
   * or the PostgreSQL database of `options.database` (a URL, server or password that does not
   * work fails here, naming what failed, never the password).
   */
  static async open(options: Partial<ServiceOptions> = {}): Promise<Service> {
    const resolved = resolveOptions(options);
    if (!resolved.database) return new Service(resolved);
    // The token first: it needs no server.
    replicaToken(resolved.stateDir, resolved.token);
    mkdirSync(resolved.stateDir, { recursive: true, mode: 0o700 });
    const storage = await openPostgresStorage(resolved.database, resolved.stateDir, { monitoring: resolved.monitoring });
    try {
      return new Service(resolved, storage);
    } catch (error) {
      await storage.close();
      throw error;
    }
  }

  /** The URL the service listens on (after start). */
  get url(): string {
    const address = this._http?.address() as AddressInfo | null;
    if (!address) throw new Error('the service is not listening');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** `host:port` of the gRPC endpoint (after start), or null without `grpcPort`. */
  get grpcAddress(): string | null {
    if (this._grpcPort === null) return null;
    const { host } = this.options;
    return host.includes(':') ? `[${host}]:${this._grpcPort}` : `${host}:${this._grpcPort}`;
  }

  async start(): Promise<this> {
    try {
      return await this._start();
    } catch (error) {
      // Nothing serves the state dir: another service may take it.
      this._lock?.release();
      throw error;
    }
  }

  private async _start(): Promise<this> {
    if (!this.options.join || this.options.database) {
      // Replicas on one state dir leave this to the process that holds it: another may be writing an artifact now.
      // On PostgreSQL every replica sweeps: the store leaves what is younger than its grace period.
      const removed = await this.store.sweep(await this.registry.artifactKeys());
      if (removed.length > 0) this.options.log(`removed ${removed.length} unfinished or unreferenced artifact folder(s)`);
    }
    await this.server.start();
    await this.replicaSync.start();
    this._changes = await this._storage.watchChanges(() => this.replicaSync.nudge(), this.options.log);
    const access = new Access(this.token, this.options.allowOrigins, this.users);
    this._sockets = new NotebookSockets({
      access,
      metrics: this.metrics,
      maxPayload: this.options.maxRequestBytes,
      heartbeatMs: this.options.heartbeatMs,
      connection: {
        registry: this.registry,
        dataPlane: this.dataPlane,
        monitor: this.monitor,
        alerts: this.alerts,
        serviceWebhooks: this.options.alertWebhooks.length,
        deployer: this.deployer,
        replays: this.replays,
        gate: this.deployer.gate,
        live: this.live,
        highWaterBytes: this.options.slowSubscriberBytes * 4
      },
      log: this.options.log
    });
    const { handle } = createRouter({
      access,
      users: this.users,
      registry: this.registry,
      server: this.server,
      dataPlane: this.dataPlane,
      deployer: this.deployer,
      metrics: this.metrics,
      maxRequestBytes: this.options.maxRequestBytes,
      isAcceptingTraffic: () => !this._stopping
    });
    const http = createServer({ keepAliveTimeout: 5_000 }, handle);
    http.on('upgrade', (req, socket, head) => this._sockets!.handleUpgrade(req, socket, head));
    http.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
    this._http = http;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.options.port, this.options.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    if (this.options.grpcPort !== undefined) {
      this._grpc = new GrpcInferenceServer({
        access,
        registry: this.registry,
        server: this.server,
        dataPlane: this.dataPlane,
        maxRequestBytes: this.options.maxRequestBytes,
        isAcceptingTraffic: () => !this._stopping
      });
      try {
        this._grpcPort = await this._grpc.listen(this.options.host, this.options.grpcPort);
      } catch (error) {
        // Nothing half-started: the HTTP listener goes too.
        this._grpc.forceShutdown();
        await new Promise<void>((resolve) => http.close(() => resolve()));
        throw error;
      }
    }
    if (!this.options.join) writeServiceNote(this.options.stateDir, this.url, this.token);
    return this;
  }

  /**
   * Graceful shutdown: refuse new connections, let in-flight requests (HTTP and WebSocket)
   * finish, then close sockets, release the models and close the registry.
   */
  async stop(): Promise<void> {
    if (this._stopped) return this._stopped;
    this._stopping = true;
    if (!this.options.join) removeServiceNote(this.options.stateDir);
    this.replicaSync.stop();
    this._stopped = (async () => {
      await this._changes?.close();
      const http = this._http;
      const closed = http ? new Promise<void>((resolve) => http.close(() => resolve())) : Promise.resolve();
      http?.closeIdleConnections();
      // gRPC takes no new calls from here; the calls under way finish (the data plane's drain counts them).
      const grpcClosed = this._grpc?.shutdown() ?? Promise.resolve();
      // In-flight inferences and registry changes (register, deploy) both finish first.
      const drained = Promise.all([this.dataPlane.drain(), this.deployer.drain()]);
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.options.shutdownTimeoutMs).unref());
      await Promise.race([drained, timeout]);
      this._sockets?.close();
      http?.closeIdleConnections();
      await Promise.race([Promise.all([closed, grpcClosed]), timeout]);
      http?.closeAllConnections();
      this._grpc?.forceShutdown();
      this.live.close();
      await this.server.close();
      this.webhooks?.close();
      // The ring and the open windows are written before the worker exits.
      await this.monitor?.close();
      await this.alerts?.stop();
      await this._storage.close();
      this._lock?.release();
    })();
    return this._stopped;
  }

  private readonly _storage: ServiceStorage;
  private readonly _lock: StateLock | null;
  private _changes: { close(): Promise<void> } | null = null;
  private _http: Server | null = null;
  private _sockets: NotebookSockets | null = null;
  private _grpc: GrpcInferenceServer | null = null;
  private _grpcPort: number | null = null;
  private _stopping = false;
  private _stopped: Promise<void> | null = null;
}

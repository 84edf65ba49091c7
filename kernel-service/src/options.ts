/**
 * The service's options: defaults, merged with what the caller gives, and checked at once
 * so that a contradiction fails at start with an exact message.
 */
import path from 'node:path';
import { describeUrl } from './storage/database-location.js';

export interface ServiceOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** OIP v2 gRPC on this port, on the same host; off when absent. 0 picks a free port. */
  grpcPort?: number;
  /** Holds the SQLite registry, the artifacts and the token file; with `database`, only the artifacts' local cache and the token file. */
  stateDir: string;
  /**
   * A PostgreSQL database (`postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE`) that holds
   * everything the service keeps, shared by its replicas; SQLite in the state dir when absent.
   */
  database?: string;
  /** The access token; generated on first start and kept in the state dir when absent. */
  token?: string;
  /** Origins (besides the service's own) allowed to open WebSockets, e.g. JupyterLab's. */
  allowOrigins: string[];
  /** Largest request body or WebSocket message, in bytes. */
  maxRequestBytes: number;
  /** onnxruntime threads inside one run. */
  intraOpThreads: number;
  /** WebSocket ping interval; a peer that misses a pong is dropped. */
  heartbeatMs: number;
  /** How long SIGTERM waits for in-flight requests before closing anyway. */
  shutdownTimeoutMs: number;
  /** Production needs a passing validation report (or an override reason, which is audited). */
  validationGate: boolean;
  /** Production also needs an approving review by someone who neither registered nor validated the version. */
  fourEyes: boolean;
  /** Buffered bytes past which a live subscriber counts as slow and its updates coalesce. */
  slowSubscriberBytes: number;
  /** Length of a monitoring window, in seconds. */
  monitorWindowSeconds: number;
  /** How long monitoring windows, performance and the predictions log are kept, in days. */
  monitorRetentionDays: number;
  /** Monitoring (windows, drift, performance, alerts, the live window stream); off only to measure its cost. */
  monitoring: boolean;
  /** Webhooks every alert of every deployment is POSTed to (Slack-compatible JSON). */
  alertWebhooks: string[];
  /**
   * Serve as a replica of the service that holds the state dir (`--join`; the processes of
   * `--workers N`): no lock on the state dir, no service note, no sweep of its artifacts.
   */
  join: boolean;
  /**
   * How often a replica looks for changes made through the others (ms): the safety net on
   * PostgreSQL, where each change is also notified (default 2000 there).
   */
  replicaSyncMs: number;
  log: (message: string) => void;
}

export const DEFAULT_OPTIONS: ServiceOptions = {
  host: '127.0.0.1',
  port: 8765,
  stateDir: '.nbdeploy',
  allowOrigins: [],
  maxRequestBytes: 256 * 1024 * 1024,
  intraOpThreads: 1,
  heartbeatMs: 30_000,
  shutdownTimeoutMs: 30_000,
  validationGate: true,
  fourEyes: false,
  slowSubscriberBytes: 1024 * 1024,
  monitorWindowSeconds: 60,
  monitorRetentionDays: 7,
  monitoring: true,
  alertWebhooks: [],
  join: false,
  replicaSyncMs: 500,
  log: (message) => console.error(`[nbdeploy] ${message}`)
};

/** How often a replica on PostgreSQL looks for changes besides being notified of them (ms). */
export const POSTGRES_REPLICA_SYNC_MS = 2_000;

export function resolveOptions(given: Partial<ServiceOptions>): ServiceOptions {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const options: ServiceOptions = { ...DEFAULT_OPTIONS, ...(given.database ? { replicaSyncMs: POSTGRES_REPLICA_SYNC_MS } : {}), ...defined };
  const fail = (message: string): never => {
    throw new Error(`invalid option: ${message}`);
  };
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) fail(`--port must be 0–65535, got ${given.port}`);
  if (options.grpcPort !== undefined) {
    if (!Number.isInteger(options.grpcPort) || options.grpcPort < 0 || options.grpcPort > 65535) fail(`--grpc-port must be 0–65535, got ${given.grpcPort}`);
    if (options.grpcPort !== 0 && options.grpcPort === options.port) fail(`--grpc-port and --port are both ${options.port}; gRPC needs a port of its own`);
  }
  if (!options.host) fail('--host is empty');
  if (options.database !== undefined) {
    try {
      describeUrl(options.database);
    } catch (error) {
      fail(`--database: ${(error as Error).message}`);
    }
  }
  if (!Number.isInteger(options.replicaSyncMs) || options.replicaSyncMs < 10) fail(`the replica sync period must be a whole number of ms, at least 10, got ${options.replicaSyncMs}`);
  if (!(options.maxRequestBytes >= 1024)) fail(`--max-request-bytes must be at least 1024, got ${options.maxRequestBytes}`);
  if (!Number.isInteger(options.intraOpThreads) || options.intraOpThreads < 1) fail(`--intra-op-threads must be a positive integer, got ${options.intraOpThreads}`);
  if (!Number.isInteger(options.monitorWindowSeconds) || options.monitorWindowSeconds < 1 || options.monitorWindowSeconds > 86_400) {
    fail(`--monitor-window-seconds must be a whole number of seconds from 1 to 86400, got ${options.monitorWindowSeconds}`);
  }
  if (!(options.monitorRetentionDays > 0)) fail(`--monitor-retention-days must be above 0, got ${options.monitorRetentionDays}`);
  if (options.fourEyes && !options.validationGate) fail('--four-eyes needs the validation gate (an approving review of a passing report); it cannot go with --allow-unvalidated');
  if (options.token !== undefined && options.token.length < 16) fail('--token must be at least 16 characters');
  for (const url of options.alertWebhooks) {
    if (!isWebhookUrl(url)) fail(`--alert-webhook "${url}" must be an http:// or https:// URL`);
  }
  if (!options.monitoring && options.alertWebhooks.length > 0) fail('--alert-webhook needs monitoring; it cannot go with --no-monitoring');
  for (const origin of options.allowOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/]+$/.test(origin)) fail(`--allow-origin "${origin}" must look like http://host:port (no path)`);
  }
  return { ...options, stateDir: path.resolve(options.stateDir) };
}

/** An http(s) URL with a host: what a webhook may be. */
export function isWebhookUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}

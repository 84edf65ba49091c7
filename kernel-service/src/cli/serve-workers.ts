/**
 * `nbdeploy serve --workers N`: N processes of one service on one port (node:cluster), so that
 * HTTP parsing and JSON use every core. This process, the primary, holds the state dir (its
 * lock and service note), sweeps unfinished artifacts once, and starts the workers one after
 * the other — each a replica (`--join`) on the shared database. It relays a worker's "I
 * changed something" to the others so that they adopt it at once, restarts a worker that
 * dies, and on SIGTERM or SIGINT has every worker finish its in-flight requests first. With
 * `--database` (PostgreSQL) the state dir takes no lock and each worker sweeps the database's
 * artifacts itself (the store's grace period keeps what another is registering).
 */
import cluster, { type Worker } from 'node:cluster';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadOrCreateToken, replicaToken } from '../auth.js';
import { removeServiceNote, writeServiceNote } from '../service-note.js';
import { StateLock } from '../state-lock.js';
import { describeUrl } from '../storage/database-location.js';

/** Messages between the primary and its workers. */
export type WorkerMessage =
  | { nbdeploy: 'listening'; url: string; grpc: string | null }
  | { nbdeploy: 'changed' }
  | { nbdeploy: 'stop' };

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return typeof message === 'object' && message !== null && typeof (message as { nbdeploy?: unknown }).nbdeploy === 'string';
}

export interface WorkersOptions {
  /** `nbdeploy serve`'s arguments, without --workers. */
  args: string[];
  workers: number;
  stateDir: string;
  token: string | undefined;
  /** `--database`: the workers share PostgreSQL; each sweeps the database's artifacts itself, and the state dir takes no lock. */
  database: string | undefined;
}

export async function runWorkers(options: WorkersOptions): Promise<void> {
  const { workers, stateDir } = options;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const lock = options.database ? null : StateLock.acquire(stateDir);
  const token = options.database ? replicaToken(stateDir, options.token) : loadOrCreateToken(stateDir, options.token);
  if (!options.database) await sweepArtifacts(stateDir);
  cluster.setupPrimary({ exec: process.argv[1], args: ['serve', ...options.args, '--join'] });

  let stopping = false;
  const started = new Map<Worker, number>();
  const listening = new Map<Worker, { url: string; grpc: string | null }>();
  let announced = false;
  const log = (message: string): void => console.error(`[nbdeploy] ${message}`);

  const fork = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork();
      started.set(worker, Date.now());
      const onExit = (code: number | null): void => reject(new Error(`a worker stopped before it listened (exit code ${code})`));
      worker.once('exit', onExit);
      worker.on('message', (message: unknown) => {
        if (!isWorkerMessage(message)) return;
        if (message.nbdeploy === 'listening') {
          listening.set(worker, { url: message.url, grpc: message.grpc });
          worker.off('exit', onExit);
          resolve(worker);
        } else if (message.nbdeploy === 'changed') {
          for (const other of Object.values(cluster.workers ?? {})) if (other && other !== worker && other.isConnected()) other.send(message);
        }
      });
    });

  cluster.on('exit', (worker, code, signal) => {
    const since = started.get(worker) ?? 0;
    started.delete(worker);
    listening.delete(worker);
    if (stopping || !announced) return;
    // One that dies at once (a port taken, a broken state) is not restarted in a tight loop.
    const delay = Date.now() - since < 5000 ? 1000 : 0;
    log(`worker ${worker.process.pid} stopped (${signal ?? `exit code ${code}`}); starting another${delay ? ` in ${delay} ms` : ''}`);
    setTimeout(() => {
      if (!stopping) fork().catch((error: Error) => log(error.message));
    }, delay);
  });

  const stop = async (signal: string): Promise<never> => {
    if (stopping) {
      log(`second ${signal}: exiting now`);
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: the workers finish their in-flight requests, then exit`);
    const exits = Object.values(cluster.workers ?? {}).map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (!worker || worker.isDead()) return resolve();
          worker.once('exit', () => resolve());
          // One still starting (restarted a moment ago) serves nothing yet and listens to no message: SIGTERM ends it.
          if (listening.has(worker) && worker.isConnected()) worker.send({ nbdeploy: 'stop' } satisfies WorkerMessage);
          else worker.process.kill('SIGTERM');
        })
    );
    await Promise.all(exits);
    removeServiceNote(stateDir);
    lock?.release();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  try {
    // One after the other: the first migrates the database and loads the models before the others share them.
    for (let i = 0; i < workers; i++) await fork();
  } catch (error) {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    lock?.release();
    throw error;
  }
  announced = true;
  const first = [...listening.values()][0]!;
  writeServiceNote(stateDir, first.url, token);
  const state = options.database ? `state in ${describeUrl(options.database)}, artifacts cached in ${stateDir}` : `state in ${stateDir}`;
  console.error(`[nbdeploy] ${workers} workers serving on ${first.url} (${state})`);
  console.log(`listening on ${first.url}${first.grpc ? ` (gRPC on ${first.grpc})` : ''}`);
}

/** Removes what a killed process left in the artifact store (the primary does it once, before any worker writes there). */
async function sweepArtifacts(stateDir: string): Promise<void> {
  const { SqliteRegistry } = await import('../registry/sqlite-registry.js');
  const { FolderArtifactStore } = await import('../registry/artifact-store.js');
  const { ARTIFACTS_DIR, DATABASE_FILE } = await import('../service.js');
  const registry = new SqliteRegistry(path.join(stateDir, DATABASE_FILE));
  try {
    const removed = await new FolderArtifactStore(path.join(stateDir, ARTIFACTS_DIR)).sweep(await registry.artifactKeys());
    if (removed.length > 0) console.error(`[nbdeploy] removed ${removed.length} unfinished or unreferenced artifact folder(s)`);
  } finally {
    await registry.close();
  }
}

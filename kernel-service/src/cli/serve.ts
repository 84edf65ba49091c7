/** `nbdeploy serve`: the inference service, until SIGTERM or SIGINT. */
import path from 'node:path';
import { TOKEN_FILE } from '../auth.js';
import { DEFAULT_OPTIONS } from '../options.js';
import { describeUrl } from '../storage/database-location.js';
import { VERSION } from '../version.js';
import cluster from 'node:cluster';
import { type Command, UsageError, decimal, integer, parseCommandLine } from './command.js';
import { type WorkerMessage, isWorkerMessage } from './serve-workers.js';

export const serve: Command = {
  name: 'serve',
  summary: 'start the inference service (HTTP + WebSocket on one port)',
  usage: `usage: nbdeploy serve [options]

Starts the inference service; prints "listening on URL" on stdout once it listens.

options:
  --host HOST              address to listen on (default ${DEFAULT_OPTIONS.host})
  --port PORT              port (default ${DEFAULT_OPTIONS.port}; 0 picks a free one)
  --grpc-port PORT         also serve OIP v2 gRPC on this port (off unless given; 0 picks a free one)
  --state-dir DIR          registry, artifacts and token (default ${DEFAULT_OPTIONS.stateDir}); with --database only the
                           artifacts' local cache and the token file
  --database URL           keep everything in PostgreSQL (postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE; default:
                           NBDEPLOY_DATABASE_URL, else SQLite in DIR): every service on one database is a replica
                           of one service; each needs the same admin token (--token, NBDEPLOY_TOKEN or DIR/${TOKEN_FILE})
  --token TOKEN            the admin's access token (default: NBDEPLOY_TOKEN, else generated once and kept
                           in DIR/${TOKEN_FILE}); other people get theirs with "nbdeploy users add"
  --allow-origin URL       an origin allowed to open WebSockets (repeatable)
  --max-request-bytes N    largest request body or WebSocket message (default ${DEFAULT_OPTIONS.maxRequestBytes})
  --intra-op-threads N     onnxruntime threads per run (default ${DEFAULT_OPTIONS.intraOpThreads})
  --shutdown-timeout-ms N  how long SIGTERM waits for in-flight requests (default ${DEFAULT_OPTIONS.shutdownTimeoutMs})
  --allow-unvalidated      let versions go to production without a passing validation report
  --four-eyes              production also needs an approving review by someone who neither registered
                           nor validated the version (docs/people.md)
  --monitor-window-seconds N  length of a monitoring window (default ${DEFAULT_OPTIONS.monitorWindowSeconds})
  --monitor-retention-days N  how long monitoring data is kept (default ${DEFAULT_OPTIONS.monitorRetentionDays})
  --alert-webhook URL      POST every alert (firing, resolved) there as Slack-compatible JSON (repeatable)
  --no-monitoring          serve without monitoring, alerts or the live window stream (to measure their cost)
  --workers N              run N processes of the service on one port, to use every core (default 1;
                           docs/scale-out.md)
  --join                   serve as a replica of the service that already runs on --state-dir, on a port
                           of its own (without it, a second service on one state dir is refused)
  -h, --help               print this and exit
`,
  run: runServe
};

async function runServe(args: string[]): Promise<void> {
  const { values } = parseCommandLine({
    args,
    strict: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'grpc-port': { type: 'string' },
      'state-dir': { type: 'string' },
      database: { type: 'string' },
      token: { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      'max-request-bytes': { type: 'string' },
      'intra-op-threads': { type: 'string' },
      'shutdown-timeout-ms': { type: 'string' },
      'allow-unvalidated': { type: 'boolean' },
      'four-eyes': { type: 'boolean' },
      'monitor-window-seconds': { type: 'string' },
      'monitor-retention-days': { type: 'string' },
      'alert-webhook': { type: 'string', multiple: true },
      'no-monitoring': { type: 'boolean' },
      workers: { type: 'string' },
      join: { type: 'boolean' }
    }
  });
  const token = values.token ?? process.env.NBDEPLOY_TOKEN;
  const database = values.database ?? (process.env.NBDEPLOY_DATABASE_URL || undefined);
  const workers = integer('workers', values.workers) ?? 1;
  if (workers < 1 || workers > 256) throw new UsageError(`--workers must be 1–256, got ${workers}`);
  if (workers > 1) {
    if (values.join) throw new UsageError('--workers and --join do not go together: the workers of one service join it themselves');
    const { runWorkers } = await import('./serve-workers.js');
    const rest = args.filter((a, i) => a !== '--workers' && !a.startsWith('--workers=') && args[i - 1] !== '--workers');
    return runWorkers({ args: rest, workers, stateDir: values['state-dir'] ?? DEFAULT_OPTIONS.stateDir, token, database });
  }
  const worker = cluster.isWorker;
  // Loaded when used: the service's modules (onnxruntime, SQLite) take a while, and --help needs none of them.
  const { Service } = await import('../service.js');
  const service = await Service.open({
    host: values.host,
    port: integer('port', values.port),
    grpcPort: integer('grpc-port', values['grpc-port']),
    stateDir: values['state-dir'],
    database,
    token,
    allowOrigins: values['allow-origin'],
    maxRequestBytes: integer('max-request-bytes', values['max-request-bytes']),
    intraOpThreads: integer('intra-op-threads', values['intra-op-threads']),
    shutdownTimeoutMs: integer('shutdown-timeout-ms', values['shutdown-timeout-ms']),
    validationGate: values['allow-unvalidated'] ? false : undefined,
    fourEyes: values['four-eyes'] ? true : undefined,
    monitorWindowSeconds: integer('monitor-window-seconds', values['monitor-window-seconds']),
    monitorRetentionDays: decimal('monitor-retention-days', values['monitor-retention-days']),
    monitoring: values['no-monitoring'] ? false : undefined,
    alertWebhooks: values['alert-webhook'],
    join: values.join
  });
  await service.start();
  if (worker) {
    // A worker of `--workers N`: the primary says when all listen, relays changes, and asks it to stop.
    service.deployer.on('change', () => process.send?.({ nbdeploy: 'changed' } satisfies WorkerMessage));
    process.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.nbdeploy === 'changed') service.replicaSync.nudge();
      else if (message.nbdeploy === 'stop') shutdown('stop', true);
    });
    // A primary that died (SIGKILL) leaves nobody to restart or stop this worker: it stops too.
    process.on('disconnect', () => shutdown('the primary is gone', true));
    process.send?.({ nbdeploy: 'listening', url: service.url, grpc: service.grpcAddress } satisfies WorkerMessage);
  }
  const tokenNote = values.token
    ? 'the token given with --token'
    : token
      ? 'the token in NBDEPLOY_TOKEN'
      : `token in ${path.join(service.options.stateDir, TOKEN_FILE)}`;
  if (!worker) {
    const state = database ? `state in ${describeUrl(database)}, artifacts cached in ${service.options.stateDir}` : `state in ${service.options.stateDir}`;
    console.error(`[nbdeploy] ${VERSION} serving on ${service.url} (${state}; ${tokenNote}${values.join ? '; a replica' : ''})`);
    console.log(`listening on ${service.url}${service.grpcAddress ? ` (gRPC on ${service.grpcAddress})` : ''}`);
  }
  let signalled = false;
  /** `quiet`: asked again by the primary (a Ctrl-C reaches the workers too): not a second signal. */
  function shutdown(signal: string, quiet = false): void {
    if (signalled && quiet) return;
    if (signalled) {
      console.error(`[nbdeploy] second ${signal}: exiting now`);
      process.exit(1);
    }
    signalled = true;
    console.error(`[nbdeploy] ${signal}: finishing in-flight requests, then exiting`);
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`[nbdeploy] shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      }
    );
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

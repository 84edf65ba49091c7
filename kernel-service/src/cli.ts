/**
 * The `nbdeploy` command line.
 *   nbdeploy serve [--host 127.0.0.1] [--port 8765] [--state-dir .nbdeploy] [--token T]
 *                  [--allow-origin URL]... [--max-request-bytes N] [--intra-op-threads N]
 *                  [--shutdown-timeout-ms N] [--allow-unvalidated]
 *                  [--monitor-window-seconds N] [--monitor-retention-days N]
 *                  [--alert-webhook URL]... [--no-monitoring]
 *   nbdeploy lab [--port 8888] [--no-browser] [--service-port 8765] [--state-dir .nbdeploy] [-- jupyter args]
 *   nbdeploy token [--state-dir .nbdeploy]      prints the service's token
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TOKEN_FILE, loadOrCreateToken } from './auth.js';
import { DEFAULT_OPTIONS } from './options.js';
import { runLab } from './lab.js';
import { Service } from './service.js';
import { VERSION } from './version.js';

const USAGE = `usage: nbdeploy <command> [options]

commands:
  serve    start the inference service (HTTP + WebSocket on one port)
  lab      start the service and JupyterLab (with nbdeploy's extension), opening the quickstart
  token    print the service's access token
  version  print the version

serve options:
  --host HOST              address to listen on (default ${DEFAULT_OPTIONS.host})
  --port PORT              port (default ${DEFAULT_OPTIONS.port}; 0 picks a free one)
  --state-dir DIR          registry, artifacts and token (default ${DEFAULT_OPTIONS.stateDir})
  --token TOKEN            access token (default: generated once, kept in DIR/${TOKEN_FILE})
  --allow-origin URL       an origin allowed to open WebSockets (repeatable)
  --max-request-bytes N    largest request body or WebSocket message (default ${DEFAULT_OPTIONS.maxRequestBytes})
  --intra-op-threads N     onnxruntime threads per run (default ${DEFAULT_OPTIONS.intraOpThreads})
  --shutdown-timeout-ms N  how long SIGTERM waits for in-flight requests (default ${DEFAULT_OPTIONS.shutdownTimeoutMs})
  --allow-unvalidated      let versions go to production without a passing validation report
  --monitor-window-seconds N  length of a monitoring window (default ${DEFAULT_OPTIONS.monitorWindowSeconds})
  --monitor-retention-days N  how long monitoring data is kept (default ${DEFAULT_OPTIONS.monitorRetentionDays})
  --alert-webhook URL      POST every alert (firing, resolved) there as Slack-compatible JSON (repeatable)
  --no-monitoring          serve without monitoring, alerts or the live window stream (to measure their cost)

lab options:
  --port PORT              JupyterLab's port (default 8888)
  --no-browser             do not open a browser
  --service-port PORT      the service's port (default ${DEFAULT_OPTIONS.port})
  --state-dir DIR          as for serve
  -- ARGS                  passed on to \`jupyter lab\`
`;

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`invalid option: --${name} must be an integer, got "${value}"`);
  return n;
}

function decimal(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`invalid option: --${name} must be a number, got "${value}"`);
  return n;
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'state-dir': { type: 'string' },
      token: { type: 'string' },
      'allow-origin': { type: 'string', multiple: true },
      'max-request-bytes': { type: 'string' },
      'intra-op-threads': { type: 'string' },
      'shutdown-timeout-ms': { type: 'string' },
      'allow-unvalidated': { type: 'boolean' },
      'monitor-window-seconds': { type: 'string' },
      'monitor-retention-days': { type: 'string' },
      'alert-webhook': { type: 'string', multiple: true },
      'no-monitoring': { type: 'boolean' }
    }
  });
  const service = new Service({
    host: values.host,
    port: integer('port', values.port),
    stateDir: values['state-dir'],
    token: values.token ?? process.env.NBDEPLOY_TOKEN,
    allowOrigins: values['allow-origin'],
    maxRequestBytes: integer('max-request-bytes', values['max-request-bytes']),
    intraOpThreads: integer('intra-op-threads', values['intra-op-threads']),
    shutdownTimeoutMs: integer('shutdown-timeout-ms', values['shutdown-timeout-ms']),
    validationGate: values['allow-unvalidated'] ? false : undefined,
    monitorWindowSeconds: integer('monitor-window-seconds', values['monitor-window-seconds']),
    monitorRetentionDays: decimal('monitor-retention-days', values['monitor-retention-days']),
    monitoring: values['no-monitoring'] ? false : undefined,
    alertWebhooks: values['alert-webhook']
  });
  await service.start();
  const tokenNote = values.token ? 'the token given with --token' : `token in ${path.join(service.options.stateDir, TOKEN_FILE)}`;
  console.error(`[nbdeploy] ${VERSION} serving on ${service.url} (state in ${service.options.stateDir}; ${tokenNote})`);
  console.log(`listening on ${service.url}`);
  let signalled = false;
  const shutdown = (signal: string): void => {
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
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function lab(args: string[]): Promise<void> {
  const split = args.indexOf('--');
  const own = split === -1 ? args : args.slice(0, split);
  const jupyterArgs = split === -1 ? [] : args.slice(split + 1);
  const { values } = parseArgs({
    args: own,
    strict: true,
    options: {
      port: { type: 'string' },
      'no-browser': { type: 'boolean' },
      'service-port': { type: 'string' },
      'state-dir': { type: 'string' }
    }
  });
  const service = new Service({
    port: integer('service-port', values['service-port']),
    stateDir: values['state-dir'],
    token: process.env.NBDEPLOY_TOKEN
  });
  await service.start();
  console.error(`[nbdeploy] ${VERSION} serving on ${service.url} (state in ${service.options.stateDir})`);
  const code = await runLab(
    service,
    { port: integer('port', values.port) ?? 8888, openBrowser: !values['no-browser'], jupyterArgs, examples: 'examples' },
    (message) => console.error(`[nbdeploy] ${message}`)
  );
  await service.stop();
  process.exit(code);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'lab':
      return lab(rest);
    case 'token': {
      const { values } = parseArgs({ args: rest, strict: true, options: { 'state-dir': { type: 'string' } } });
      console.log(loadOrCreateToken(path.resolve(values['state-dir'] ?? DEFAULT_OPTIONS.stateDir)));
      return;
    }
    case 'version':
    case '--version':
      console.log(VERSION);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`nbdeploy: unknown command "${command}"\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

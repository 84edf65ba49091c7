/**
 * nginx in front of replicas, configured with the very blocks docs/scale-out.md shows: the
 * text between its `# --- begin nbdeploy.conf ---` and `# --- end nbdeploy.conf ---` lines,
 * with only the upstream's server addresses and the listen port replaced. nginx runs in the
 * foreground (`daemon off`) as a child process, on a free loopback port, with its config, pid
 * file, logs and temp paths in a temporary prefix (so it works as root and as a normal user,
 * and never touches the packaged site), and is stopped by its pid.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './service.js';

export const SCALE_OUT_DOC = path.join(ROOT, 'docs', 'scale-out.md');
const BEGIN = '# --- begin nbdeploy.conf ---';
const END = '# --- end nbdeploy.conf ---';

/** The nginx binary: on PATH, or where Debian puts it (/usr/sbin is not on a normal user's PATH). */
export function findNginx(): string {
  const onPath = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;
  if (existsSync('/usr/sbin/nginx')) return '/usr/sbin/nginx';
  throw new Error("nginx is not installed: run `make nginx` as root (`make test` does; it installs Debian's nginx), or `sudo apt-get install nginx`");
}

/** The config blocks docs/scale-out.md shows, between its marked lines. */
export function documentedConfig(doc = SCALE_OUT_DOC): string {
  const text = readFileSync(doc, 'utf8');
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${doc} has no nginx config between "${BEGIN}" and "${END}"`);
  return text.slice(begin, end + END.length);
}

/**
 * The documented blocks with the upstream's `server` addresses replaced, in order, by
 * `upstreams` (the doc lists as many as given) and its `listen` by `127.0.0.1:port`;
 * throws, naming what differs, when the doc's config does not have that shape.
 */
export function configFor(documented: string, upstreams: readonly string[], port: number): string {
  const upstream = /^upstream\s+\S+\s*\{\n([\s\S]*?)^\}/m.exec(documented);
  if (!upstream) throw new Error('the documented nginx config has no upstream block');
  const servers = [...upstream[1]!.matchAll(/^(\s*server\s+)(\S+?)(\s[^;\n]*)?;/gm)];
  if (servers.length !== upstreams.length) {
    throw new Error(`the documented upstream lists ${servers.length} servers; the test starts ${upstreams.length} replicas`);
  }
  let index = 0;
  const block = upstream[0].replace(/^(\s*server\s+)(\S+?)(\s[^;\n]*)?;/gm, (_all, lead: string, _address: string, rest = '') => `${lead}${upstreams[index++]}${rest};`);
  const listens = documented.match(/^\s*listen\s+[^;\n]+;/gm) ?? [];
  if (listens.length !== 1) throw new Error(`the documented server block should listen once, it has ${listens.length} listen lines`);
  return documented.replace(upstream[0], block).replace(/^(\s*)listen\s+[^;\n]+;/m, `$1listen 127.0.0.1:${port};`);
}

/** A loopback port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class NginxProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly prefix: string,
    private readonly _stderr: () => string
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  readonly exited: Promise<void>;

  /** http://127.0.0.1:PORT */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** ws://127.0.0.1:PORT/ws */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** The config nginx runs with. */
  get config(): string {
    return readFileSync(path.join(this.prefix, 'nginx.conf'), 'utf8');
  }

  /** nginx's error log and stderr, for failure messages. */
  get log(): string {
    const file = path.join(this.prefix, 'logs', 'error.log');
    return `${existsSync(file) ? readFileSync(file, 'utf8') : ''}${this._stderr()}`;
  }

  /** The access log: one line per request, with the replica that answered it (`upstream=`). */
  get accessLog(): string {
    const file = path.join(this.prefix, 'logs', 'access.log');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  /**
   * Starts nginx on a free loopback port in front of `upstreams` (`host:port` each) with the
   * documented config, and resolves once it accepts connections.
   */
  static async start(upstreams: readonly string[]): Promise<NginxProcess> {
    const binary = findNginx();
    const documented = documentedConfig();
    let lastLog = '';
    // The free port is only free until nginx binds it: another process may take it first.
    for (let attempt = 0; attempt < 3; attempt++) {
      const prefix = mkdtempSync(path.join(tmpdir(), 'nbdeploy-nginx-'));
      const port = await freePort();
      for (const dir of ['logs', 'temp']) mkdirSync(path.join(prefix, dir));
      writeFileSync(path.join(prefix, 'nginx.conf'), wrap(prefix, configFor(documented, upstreams, port)));
      const args = ['-p', `${prefix}/`, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'logs', 'error.log'), '-g', 'daemon off;'];
      const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => (stderr += chunk));
      const nginx = new NginxProcess(child, port, prefix, () => stderr);
      running.add(nginx);
      void nginx.exited.then(() => running.delete(nginx));
      let exited = false;
      void nginx.exited.then(() => (exited = true));
      const until = Date.now() + 15_000;
      while (!exited && Date.now() < until && !(await accepts(port))) await new Promise((r) => setTimeout(r, 50));
      if (!exited && (await accepts(port))) return nginx;
      lastLog = nginx.log;
      await nginx.stop();
      rmSync(prefix, { recursive: true, force: true });
      if (!/Address already in use/.test(lastLog)) break;
    }
    throw new Error(`nginx did not start with the config of docs/scale-out.md:\n${lastLog}`);
  }

  /** Sends a signal to this nginx's master process (by pid), unless it has exited. */
  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(this.child.pid!, signal);
    } catch {
      // (it exited between the check and the signal)
    }
  }

  /** Stops nginx by its pid (SIGTERM: a fast shutdown), SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    rmSync(this.prefix, { recursive: true, force: true });
  }
}

/**
 * The rest of an nginx.conf around the documented blocks (what /etc/nginx/nginx.conf holds
 * around a conf.d file): everything nginx writes goes into the prefix. As root, the workers
 * stay root, since the prefix is root's alone; a normal user's nginx runs as that user.
 */
function wrap(prefix: string, blocks: string): string {
  const at = (p: string): string => path.join(prefix, p);
  return `# written by test/support/nginx.ts around the config of docs/scale-out.md
${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
pid ${at('nginx.pid')};
error_log ${at('logs/error.log')} warn;
events {
    worker_connections 512;
}
http {
    log_format replicas '$request $status upstream=$upstream_addr';
    access_log ${at('logs/access.log')} replicas;
    client_body_temp_path ${at('temp/client_body')};
    proxy_temp_path ${at('temp/proxy')};
    fastcgi_temp_path ${at('temp/fastcgi')};
    uwsgi_temp_path ${at('temp/uwsgi')};
    scgi_temp_path ${at('temp/scgi')};

${blocks}
}
`;
}

/** nginx processes started by this test file and still running. */
const running = new Set<NginxProcess>();

// Should the test process itself end abruptly, its nginx must not outlive it.
process.once('exit', () => {
  for (const nginx of running) nginx.signal('SIGTERM');
});

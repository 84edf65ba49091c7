/**
 * A throwaway PostgreSQL server for a test file: `initdb` into a temporary data dir, then
 * `postgres` on a free loopback port with trust auth on 127.0.0.1 and fsync off, stopped by the
 * pid it started. initdb and postgres refuse to run as root, so as root they run as the
 * `postgres` user (spawned with its uid/gid, as `runuser -u postgres` would, so the pid is the
 * postmaster's own); otherwise as the current user. Nothing is installed here: `make test` (its `postgresql` step)
 * installs Debian's postgresql, and a missing one fails with a message that says so.
 *
 *   const postgres = usePostgres();          // in a test file: beforeAll starts, afterAll stops
 *   const url = await postgres().freshDatabase();   // postgresql://postgres@127.0.0.1:PORT/nbd_3
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

export interface PostgresServer {
  /** The server's loopback port. */
  readonly port: number;
  /** The postmaster's pid. */
  readonly pid: number;
  /** The URL of the `postgres` maintenance database (superuser `postgres`, no password). */
  readonly url: string;
  /** Creates an empty database and returns its URL. */
  freshDatabase(): Promise<string>;
  /** Fast shutdown (SIGINT to the postmaster, SIGKILL if it lingers), then the data dir is removed. */
  stop(): Promise<void>;
}

/** Where Debian's PostgreSQL binaries are: `pg_config --bindir`, else the newest /usr/lib/postgresql/N/bin. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // pg_config is not on PATH: look where Debian puts the server.
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(root, v, 'bin')));
  }
  const found = candidates.find((dir) => existsSync(path.join(dir, 'postgres')) && existsSync(path.join(dir, 'initdb')));
  if (!found) {
    throw new Error(
      'PostgreSQL is not installed (no initdb and postgres under `pg_config --bindir` or /usr/lib/postgresql/*/bin): ' +
        "run `make postgresql` as root (`make test` does; it installs Debian's postgresql) or `apt-get install postgresql`"
    );
  }
  return found;
}

/** Starts a server in a new temporary data dir; resolves once it accepts connections. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const owner = serverUser();
  const base = mkdtempSync(path.join(tmpdir(), 'nbd-postgres-'));
  const dataDir = path.join(base, 'data');
  if (owner) chownSync(base, owner.uid, owner.gid);
  const run = { cwd: base, uid: owner?.uid, gid: owner?.gid, env: { ...process.env, LC_ALL: 'C' } };
  try {
    execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], { ...run, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(base, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String((error as { stderr?: Buffer }).stderr ?? error)}`);
  }
  // A port found free can be taken before the server binds it: try another then.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${base}`];
    args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB');
    const child = spawn(path.join(bin, 'postgres'), args, { ...run, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
    const ready = await waitUntilReady(url, exited);
    if (ready) return new RunningServer(child, exited, port, url, base);
    if (attempt >= 3 || !/could not bind|address already in use/i.test(log)) {
      rmSync(base, { recursive: true, force: true });
      throw new Error(`postgres did not start on port ${port}: ${log.trim() || 'it exited without a message'}`);
    }
  }
}

/**
 * For a test file: a server started in beforeAll and stopped in afterAll. Returns a getter
 * (the server exists only once beforeAll has run).
 */
export function usePostgres(): () => PostgresServer {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  }, 30_000);
  return () => {
    if (!server) throw new Error('the PostgreSQL server is not running: call usePostgres() at the top of the test file');
    return server;
  };
}

class RunningServer implements PostgresServer {
  constructor(
    private readonly _child: ChildProcess,
    private readonly _exited: Promise<void>,
    readonly port: number,
    readonly url: string,
    private readonly _base: string
  ) {
    // A test process that ends without afterAll (a crash, ^C) does not leave the server behind.
    process.once('exit', this._killNow);
  }

  get pid(): number {
    return this._child.pid!;
  }

  async freshDatabase(): Promise<string> {
    const name = `nbd_${++this._databases}`;
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return `postgresql://postgres@127.0.0.1:${this.port}/${name}`;
  }

  async stop(): Promise<void> {
    process.removeListener('exit', this._killNow);
    if (this._child.exitCode === null && this._child.signalCode === null) {
      process.kill(this.pid, 'SIGINT');
      const timer = setTimeout(this._killNow, 10_000);
      await this._exited;
      clearTimeout(timer);
    }
    rmSync(this._base, { recursive: true, force: true });
  }

  private readonly _killNow = (): void => {
    if (this._child.exitCode === null && this._child.signalCode === null) process.kill(this.pid, 'SIGKILL');
  };

  private _databases = 0;
}

/** The `postgres` user's ids when running as root (the server refuses root), else null. */
function serverUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error("running as root, but there is no `postgres` user to run the server as (Debian's postgresql package creates it)");
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls until a connection succeeds (true) or the server exits (false). */
async function waitUntilReady(url: string, exited: Promise<void>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      await client.end().catch(() => undefined);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 100))]);
    }
  }
  return false;
}

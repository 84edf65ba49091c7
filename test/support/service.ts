/**
 * Real `nbdeploy serve` child processes for integration tests: started on 127.0.0.1 port 0
 * with a fresh temporary state dir, and stopped by their own pid (never by name).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Not `new URL('../..', import.meta.url)`: Vite rewrites that pattern for browser-like test
// environments (the extension's jsdom tests start services too).
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'nbdeploy.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  /** Reuse a state dir (restart after a crash); a fresh temporary one when absent. */
  stateDir?: string;
  /** Extra `serve` arguments, e.g. ['--allow-origin', 'http://lab.example:8888']. */
  args?: string[];
}

export class ServiceProcess {
  /** Resolves once the process has exited, with its exit code or signal. */
  readonly exited: Promise<Exit>;
  /** `host:port` of the gRPC endpoint when started with `--grpc-port`. */
  grpcAddress: string | null = null;

  constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly token: string,
    readonly stateDir: string,
    exited: Promise<Exit>,
    private readonly _stderr: () => string
  ) {
    this.exited = exited;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** ws://127.0.0.1:PORT/ws */
  get wsUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/ws`;
  }

  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** What the service wrote to stderr (its log), for failure messages. */
  get log(): string {
    return this._stderr();
  }

  /** Sends a signal to this process (by pid). */
  signal(signal: NodeJS.Signals): void {
    if (!this.hasExited) process.kill(this.pid, signal);
  }

  /** Graceful stop: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<Exit> {
    if (this.hasExited) return this.exited;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** kill -9 by pid. */
  kill(): Promise<Exit> {
    this.signal('SIGKILL');
    return this.exited;
  }
}

/** Services started by this test file and still running. */
const running = new Set<ServiceProcess>();
const tempDirs = new Set<string>();

// Should the test process itself end abruptly, its services must not outlive it.
process.once('exit', () => {
  for (const service of running) service.signal('SIGKILL');
});

/** A new empty temporary directory, removed by `cleanup()`. */
export function makeTempDir(prefix = 'nbdeploy-it-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Starts `nbdeploy serve --port 0` and resolves once it prints the URL it listens on. */
export async function startService(options: StartOptions = {}): Promise<ServiceProcess> {
  if (!existsSync(path.join(ROOT, 'lib', 'kernel-service', 'cli.js'))) {
    throw new Error('the service is not built: run `npx tsc -b` (or `make build`) first');
  }
  const stateDir = options.stateDir ?? path.join(makeTempDir(), 'state');
  const args = [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--state-dir', stateDir, ...(options.args ?? [])];
  const env = { ...process.env };
  delete env.NBDEPLOY_TOKEN;
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nbdeploy serve did not start within 30 s; stderr:\n${stderr}`));
    }, 30_000);
    child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`nbdeploy serve exited (${exit.code ?? exit.signal}) before listening; stderr:\n${stderr}`));
    });
  });
  const tokenIndex = args.indexOf('--token');
  const token = tokenIndex >= 0 ? args[tokenIndex + 1]! : readFileSync(path.join(stateDir, 'token'), 'utf8').trim();
  const service = new ServiceProcess(child, url, token, stateDir, exited, () => stderr);
  service.grpcAddress = /\(gRPC on (\S+)\)/.exec(stdout)?.[1] ?? null;
  running.add(service);
  void exited.then(() => running.delete(service));
  return service;
}

/** Stops every service this file started (by pid) and removes the temporary dirs. */
export async function cleanup(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** What a finished `nbdeploy` command said. */
export interface CommandRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `nbdeploy ARGS` to its end, with nothing of the test's environment but PATH (and `env`). */
export function runNbdeploy(args: string[], env: Record<string, string> = {}): CommandRun {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

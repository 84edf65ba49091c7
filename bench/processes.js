// Child processes of the bench (services, baselines): started from the project root, stopped
// by their own pid — SIGTERM, then SIGKILL — and killed should the bench itself end early.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const children = new Set();

/** Starts a server; resolves once it prints "listening on URL" on stdout. */
export function startServer(name, command, args) {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const server = { name, child, url: null, info: null, stderr: '' };
  child.stderr.on('data', (chunk) => {
    server.stderr = (server.stderr + chunk).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`${name} did not start within 60 s`)), 60_000);
    const fail = (error) => {
      clearTimeout(timer);
      stopServer(server);
      reject(new Error(`${error.message}\n${server.stderr}`));
    };
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (!server.url) fail(new Error(`${name} exited (${signal ?? code}) before listening`));
    });
    child.stdout.on('data', (chunk) => {
      out += chunk;
      for (const line of out.split('\n')) {
        if (line.startsWith('info ')) server.info = JSON.parse(line.slice(5));
        const m = /^listening on (http:\/\/\S+)/.exec(line);
        if (m && !server.url) {
          server.url = m[1];
          // nbdeploy with --grpc-port: "listening on URL (gRPC on HOST:PORT)"
          server.grpcAddress = /\(gRPC on (\S+)\)/.exec(line)?.[1] ?? null;
          clearTimeout(timer);
          resolve(server);
        }
      }
    });
  });
}

/** Stops a server by its pid (SIGTERM, then SIGKILL after 5 s). */
export async function stopServer(server) {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}


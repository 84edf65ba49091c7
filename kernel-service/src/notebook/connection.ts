/**
 * Where the service is and its token: explicit options, then the environment
 * (NBDEPLOY_URL / NBDEPLOY_TOKEN, which the Jupyter server extension sets for kernels),
 * then the state dir `.nbdeploy/token` in the working folder or one of its parents —
 * the order the Python bridge uses (python-bridge/nbdeploy/_connection.py).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const DEFAULT_URL = 'http://127.0.0.1:8765';
const STATE_DIR = '.nbdeploy';

export interface ConnectOptions {
  /** The service's URL, e.g. `http://127.0.0.1:8765` (default: NBDEPLOY_URL, then that). */
  url?: string;
  /** The service's token (default: NBDEPLOY_TOKEN, then `.nbdeploy/token` upwards). */
  token?: string;
}

export interface ConnectionInfo {
  url: string;
  wsUrl: string;
  token: string | null;
  /** Where the token came from, for error messages. */
  tokenSource: string;
}

export function wsUrlOf(url: string): string {
  const base = url.replace(/\/+$/, '');
  if (base.startsWith('https://')) return 'wss://' + base.slice('https://'.length) + '/ws';
  if (base.startsWith('http://')) return 'ws://' + base.slice('http://'.length) + '/ws';
  return base + '/ws';
}

export function findTokenFile(start: string = process.cwd()): string | null {
  let folder = path.resolve(start);
  for (;;) {
    const candidate = path.join(folder, STATE_DIR, 'token');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(folder);
    if (parent === folder) return null;
    folder = parent;
  }
}

export function resolveConnection(options: ConnectOptions = {}, env: NodeJS.ProcessEnv = process.env): ConnectionInfo {
  const url = options.url || env.NBDEPLOY_URL || DEFAULT_URL;
  const info = (token: string | null, tokenSource: string): ConnectionInfo => ({ url, wsUrl: wsUrlOf(url), token, tokenSource });
  if (options.token) return info(options.token, 'the token option');
  if (env.NBDEPLOY_TOKEN) return info(env.NBDEPLOY_TOKEN, 'NBDEPLOY_TOKEN');
  const file = findTokenFile();
  if (file) return info(readFileSync(file, 'utf8').trim(), file);
  return info(null, 'nowhere (no token option, NBDEPLOY_TOKEN or .nbdeploy/token found)');
}

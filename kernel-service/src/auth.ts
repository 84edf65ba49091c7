/**
 * Access: the bearer token on every request but the two health probes, and the Origin
 * check on WebSocket upgrades (browsers send Origin; a page from elsewhere must not drive
 * the service with the user's token).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { ServiceError } from './errors.js';
import type { Actor } from './registry/registry.js';

export const TOKEN_FILE = 'token';
/** The Jupyter server extension names the Jupyter user here for the audit log. */
export const USER_HEADER = 'x-nbdeploy-user';

/** The given token, or the one kept in the state dir, or a new one written there (mode 0600; a state dir it makes, 0700). */
export function loadOrCreateToken(stateDir: string, given?: string): string {
  if (given) return given;
  const file = path.join(stateDir, TOKEN_FILE);
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token) return token;
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

export class Access {
  private readonly _token: Buffer;

  constructor(
    token: string,
    private readonly _allowOrigins: readonly string[]
  ) {
    this._token = Buffer.from(token);
  }

  /** Checks `Authorization: Bearer <token>` (or, for WebSocket upgrades, `?token=`). */
  checkToken(req: IncomingMessage, allowQuery = false): void {
    let presented: string | undefined;
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ')) {
      presented = header.slice(7).trim();
    } else if (allowQuery && req.url?.includes('token=')) {
      presented = new URL(req.url, 'http://service').searchParams.get('token') ?? undefined;
    }
    if (!presented || !this._matches(presented)) {
      throw new ServiceError('NBD_ERR_UNAUTHORIZED');
    }
  }

  /** Checks an `authorization` value (`Bearer <token>`) given outside HTTP headers: gRPC metadata. */
  checkAuthorization(value: string | undefined): void {
    const presented = value?.startsWith('Bearer ') ? value.slice(7).trim() : undefined;
    if (!presented || !this._matches(presented)) {
      throw new ServiceError('NBD_ERR_UNAUTHORIZED');
    }
  }

  /** Same-origin and configured origins may open WebSockets; others get 403. */
  checkOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    if (origin === undefined) return; // not a browser: the token alone decides
    if (this._allowOrigins.includes('*') || this._allowOrigins.includes(origin)) return;
    try {
      if (new URL(origin).host === req.headers.host) return;
    } catch {
      // an unparsable Origin is refused below
    }
    throw new ServiceError('NBD_ERR_ORIGIN_FORBIDDEN', { origin });
  }

  private _matches(presented: string): boolean {
    const given = Buffer.from(presented);
    return given.length === this._token.length && timingSafeEqual(given, this._token);
  }
}

/** Who is asking: the Jupyter user the proxy names, else "api". */
export function actorOf(req: IncomingMessage, notebook?: string | null): Actor {
  const user = req.headers[USER_HEADER];
  return { user: typeof user === 'string' && user ? decodeHeader(user).slice(0, 128) : 'api', notebook: notebook ?? null };
}

/** The Jupyter server extension percent-encodes what is not ASCII (a header carries ASCII only). */
function decodeHeader(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

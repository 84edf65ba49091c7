/**
 * Access: who a request's token belongs to, and the Origin check on WebSocket upgrades
 * (browsers send Origin; a page from elsewhere must not drive the service with the user's token).
 * The service's own token (`serve --token`, or the one kept in the state dir) is the admin's
 * and compared here in constant time; other tokens are users' (people/), looked up on every
 * request so that a revoke takes effect at once.
 */
import { timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { ServiceError } from './errors.js';
import type { Principal } from './people/authorize.js';
import { newToken } from './people/tokens.js';
import { SERVICE_USER, type UserStore } from './people/user-store.js';
import type { Actor } from './registry/registry.js';

export const TOKEN_FILE = 'token';
/** The Jupyter server extension names the Jupyter user here; honoured only with the service token. */
export const USER_HEADER = 'x-nbdeploy-user';

/** The given token, or the one kept in the state dir, or a new one written there (mode 0600; a state dir it makes, 0700). */
export function loadOrCreateToken(stateDir: string, given?: string): string {
  const found = given || tokenInFile(stateDir);
  if (found) return found;
  const file = path.join(stateDir, TOKEN_FILE);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const token = newToken(24);
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

/**
 * The admin token of a replica on a shared database (`serve --database`): given, or in the
 * state dir's token file, never generated, since every replica must accept the same one.
 */
export function replicaToken(stateDir: string, given?: string): string {
  const found = given || tokenInFile(stateDir);
  if (found) return found;
  throw new Error(
    'with --database every replica must accept the same admin token, and none was given: ' +
      'give it with --token or NBDEPLOY_TOKEN, the same on every replica (make one with `openssl rand -hex 24`), ' +
      `or put it in ${path.join(stateDir, TOKEN_FILE)}`
  );
}

/** The state dir's token file's token, or undefined when there is none (or it is empty). */
function tokenInFile(stateDir: string): string | undefined {
  const file = path.join(stateDir, TOKEN_FILE);
  if (!existsSync(file)) return undefined;
  return readFileSync(file, 'utf8').trim() || undefined;
}

export class Access {
  private readonly _token: Buffer;

  constructor(
    token: string,
    private readonly _allowOrigins: readonly string[],
    private readonly _users: UserStore
  ) {
    this._token = Buffer.from(token);
  }

  /** The principal of `Authorization: Bearer <token>` (or, for WebSocket upgrades, `?token=`); 401 without a valid one. */
  authenticate(req: IncomingMessage, allowQuery = false): Promise<Principal> {
    return this.principalOf(presentedToken(req, allowQuery), req.headers[USER_HEADER]);
  }

  /**
   * For a WebSocket: the upgrade's principal, checked now, and a function that looks the
   * same token up again (each message asks it, so a revoked user is refused at once).
   */
  async session(req: IncomingMessage): Promise<{ principal: Principal; current: () => Promise<Principal> }> {
    const presented = presentedToken(req, true);
    const named = req.headers[USER_HEADER];
    return { principal: await this.principalOf(presented, named), current: () => this.principalOf(presented, named) };
  }

  /** The principal of an `authorization` value (`Bearer <token>`) given outside HTTP headers: gRPC metadata. */
  authenticateAuthorization(value: string | undefined): Promise<Principal> {
    return this.principalOf(value?.startsWith('Bearer ') ? value.slice(7).trim() : undefined);
  }

  /**
   * The token's principal, looked up now (a WebSocket asks again for every message).
   * `namedUser` (X-Nbdeploy-User) counts only with the service token.
   */
  async principalOf(presented: string | undefined, namedUser?: string | string[]): Promise<Principal> {
    if (!presented) throw new ServiceError('NBD_ERR_UNAUTHORIZED');
    if (this._isServiceToken(presented)) {
      const named = typeof namedUser === 'string' && namedUser ? decodeHeader(namedUser).slice(0, 128) : null;
      return { user: named ?? SERVICE_USER, role: 'admin', models: null, service: true };
    }
    const user = await this._users.userOfToken(presented);
    if (!user) throw new ServiceError('NBD_ERR_UNAUTHORIZED');
    return { user: user.name, role: user.role, models: user.models, service: false };
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

  private _isServiceToken(presented: string): boolean {
    const given = Buffer.from(presented);
    return given.length === this._token.length && timingSafeEqual(given, this._token);
  }
}

function presentedToken(req: IncomingMessage, allowQuery: boolean): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  if (allowQuery && req.url?.includes('token=')) return new URL(req.url, 'http://service').searchParams.get('token') ?? undefined;
  return undefined;
}

/** Who made a change: the principal's user, from the notebook and cell the message names. */
export function actorOf(principal: Principal, context?: { notebook?: string | null; cell?: string | null }): Actor {
  return { user: principal.user, notebook: context?.notebook ?? null, cell: context?.cell ?? null };
}

/** The Jupyter server extension percent-encodes what is not ASCII (a header carries ASCII only). */
function decodeHeader(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

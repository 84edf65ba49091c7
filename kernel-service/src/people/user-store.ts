/**
 * People who may use the service and their tokens: an interface, so that the PostgreSQL
 * backend can follow the SQLite one (sqlite-user-store.ts) without touching its callers.
 * Tokens are kept only as their sha256: a token is 32 random bytes, so a fast hash is enough.
 */
import type { Actor } from '../registry/registry.js';
import type { Role } from './roles.js';

/** The user of the service's own token (`serve --token`, or the state dir's `token` file): an admin. */
export const SERVICE_USER = 'api';
/** Names the service itself acts under (alerts); nobody may take them. */
export const RESERVED_USERS: readonly string[] = [SERVICE_USER, 'nbdeploy'];

export interface User {
  name: string;
  role: Role;
  /** The models an `inference` user may use; null: all. */
  models: string[] | null;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  /** How many tokens the user holds. */
  tokens: number;
}

export interface NewUser {
  name: string;
  role: Role;
  models?: string[] | null;
}

export interface UserStore {
  /** Adds a user; refused when the name is taken (revoked users keep their name). */
  addUser(user: NewUser, actor: Actor): Promise<User>;
  /** The user of that name (whatever its role), or a new one as given. */
  ensureUser(user: NewUser, actor: Actor): Promise<User>;
  getUser(name: string): Promise<User | undefined>;
  listUsers(): Promise<User[]>;
  /** A new token for an existing, unrevoked user; returned once, kept hashed. */
  issueToken(name: string, label: string, actor: Actor): Promise<string>;
  /** The user's tokens stop working at once. */
  revokeUser(name: string, actor: Actor): Promise<User>;
  /** The unrevoked user holding the token, or undefined. */
  userOfToken(token: string): Promise<User | undefined>;
}

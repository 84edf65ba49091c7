/**
 * Who may be added and who may hold a token, whatever the backend stores users in: the checks
 * that refuse a change before anything is written, with the error that names what was wrong.
 */
import { ServiceError } from '../errors.js';
import { type NewUser, RESERVED_USERS, SERVICE_USER, type User } from './user-store.js';

/** A user's name: what a Jupyter server may call its users, within reason. */
const USER_NAME = /^[^\s\p{Cc}][^\p{Cc}]{0,127}$/u;

export function checkUserName(name: string): void {
  if (!USER_NAME.test(name) || name !== name.trim()) {
    throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `user name "${name}" must be 1–128 characters, without control characters or surrounding spaces` });
  }
}

/** A new user's name is valid and not the service's own, and only inference users are limited to some models. */
export function checkNewUser(user: NewUser): void {
  checkUserName(user.name);
  if (RESERVED_USERS.includes(user.name)) {
    throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `"${user.name}" is a name the service uses itself; pick another` });
  }
  if (user.models && user.role !== 'inference') {
    throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `only inference users are limited to some models; role ${user.role} sees every model` });
  }
}

/** A token goes to an existing, unrevoked user other than the service itself. */
export function checkTokenHolder(name: string, user: User | undefined): void {
  if (!user) throw new ServiceError('NBD_ERR_USER_NOT_FOUND', { user: name });
  if (user.revokedAt) throw new ServiceError('NBD_ERR_USER_REVOKED', { user: name, at: user.revokedAt });
  if (name === SERVICE_USER) {
    throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `"${SERVICE_USER}" holds the service's own token (serve --token); add a user of your own instead` });
  }
}

/** The service's own user is never revoked here: its token is the one given to `serve --token`. */
export function checkRevocable(name: string): void {
  if (name === SERVICE_USER) {
    throw new ServiceError('NBD_ERR_BAD_REQUEST', { issues: `"${SERVICE_USER}" is the service's own token; change it with serve --token` });
  }
}

/** A user row as both backends store it (models as JSON text). */
export interface UserRow {
  name: string;
  role: User['role'];
  models: string | null;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
  tokens: number;
}

export function toUser(row: UserRow): User {
  return {
    name: row.name,
    role: row.role,
    models: row.models === null ? null : (JSON.parse(row.models) as string[]),
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
    tokens: row.tokens
  };
}

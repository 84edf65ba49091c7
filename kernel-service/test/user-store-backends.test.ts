/**
 * Users and tokens on both backends: the same cases against SQLite (the registry's file) and
 * PostgreSQL (a fresh database each, on the file's throwaway server), every call awaited.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usePostgres } from '../../test/support/postgres.js';
import { PostgresUserStore } from '../src/people/postgres-user-store.js';
import { SqliteUserStore } from '../src/people/sqlite-user-store.js';
import type { UserStore } from '../src/people/user-store.js';
import { PostgresRegistry } from '../src/registry/postgres-registry.js';
import type { Registry } from '../src/registry/registry.js';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { type PostgresPool, openPostgres } from '../src/storage/postgres-database.js';
import { openDatabase } from '../src/storage/sqlite-database.js';

const postgres = usePostgres();

/** A user store on fresh storage, with the registry beside it (whose audit log the store appends to). */
interface Stores {
  users: UserStore;
  registry: Registry;
  dispose(): Promise<void>;
}

async function sqliteStores(): Promise<Stores> {
  const db = openDatabase(path.join(mkdtempSync(path.join(os.tmpdir(), 'nbd-users-')), 'registry.sqlite'));
  const registry = new SqliteRegistry(db);
  return { registry, users: new SqliteUserStore(db), dispose: async () => db.close() };
}

async function postgresStores(): Promise<Stores> {
  const pool: PostgresPool = await openPostgres(await postgres().freshDatabase());
  const registry = await PostgresRegistry.open(pool);
  return { registry, users: await PostgresUserStore.open(pool), dispose: () => pool.end() };
}

const admin = { user: 'ana' };

describe.each([
  { name: 'SQLite', open: sqliteStores },
  { name: 'PostgreSQL', open: postgresStores }
])('UserStore on $name', ({ open }) => {
  let stores: Stores;
  let users: UserStore;

  beforeEach(async () => {
    stores = await open();
    users = stores.users;
  });
  afterEach(() => stores.dispose());

  it('should start with the service user, an admin', async () => {
    expect((await users.listUsers()).map((u) => [u.name, u.role, u.tokens])).toEqual([['api', 'admin', 0]]);
  });

  it('should add users once, with their models when they are inference users', async () => {
    const rita = await users.addUser({ name: 'rita', role: 'inference', models: ['churn'] }, admin);
    expect(rita).toMatchObject({ name: 'rita', role: 'inference', models: ['churn'], createdBy: 'ana', revokedAt: null, tokens: 0 });
    expect(await users.getUser('rita')).toEqual(rita);
    await expect(async () => users.addUser({ name: 'rita', role: 'admin' }, admin)).rejects.toThrowError(/user "rita" already exists \(role inference\)/);
    await expect(async () => users.addUser({ name: 'sam', role: 'deployer', models: ['churn'] }, admin)).rejects.toThrowError(/only inference users are limited/);
    await expect(async () => users.addUser({ name: 'api', role: 'admin' }, admin)).rejects.toThrowError(/a name the service uses itself/);
    await expect(async () => users.addUser({ name: ' padded', role: 'admin' }, admin)).rejects.toThrowError(/must be 1–128 characters/);
    expect(await users.getUser('nobody')).toBeUndefined();
  });

  it('should ensure a user: the existing one as it is, else a new one', async () => {
    await users.addUser({ name: 'rita', role: 'reviewer' }, admin);
    expect((await users.ensureUser({ name: 'rita', role: 'admin' }, admin)).role).toBe('reviewer');
    expect((await users.ensureUser({ name: 'sam', role: 'deployer' }, admin)).role).toBe('deployer');
    expect((await users.listUsers()).map((u) => u.name)).toEqual(['api', 'rita', 'sam']);
  });

  it('should find the user of a token until the user is revoked', async () => {
    await users.addUser({ name: 'rita', role: 'deployer' }, admin);
    const token = await users.issueToken('rita', 'laptop', admin);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await users.userOfToken(token))?.name).toBe('rita');
    expect(await users.userOfToken(`${token}x`)).toBeUndefined();
    expect((await users.getUser('rita'))!.tokens).toBe(1);
    const revoked = await users.revokeUser('rita', admin);
    expect(revoked.revokedAt).not.toBeNull();
    expect(await users.userOfToken(token)).toBeUndefined();
    expect(await users.revokeUser('rita', admin)).toEqual(revoked);
    await expect(async () => users.issueToken('rita', 'again', admin)).rejects.toThrowError(/user "rita" was revoked/);
  });

  it('should refuse tokens and revokes that make no sense', async () => {
    await expect(async () => users.issueToken('nobody', 'x', admin)).rejects.toThrowError('no user "nobody"');
    await expect(async () => users.revokeUser('nobody', admin)).rejects.toThrowError('no user "nobody"');
    await expect(async () => users.issueToken('api', 'x', admin)).rejects.toThrowError(/holds the service's own token/);
    await expect(async () => users.revokeUser('api', admin)).rejects.toThrowError(/change it with serve --token/);
  });

  it('should audit every change in the registry\'s log, never the token itself', async () => {
    await users.addUser({ name: 'rita', role: 'inference', models: ['churn'] }, admin);
    const token = await users.issueToken('rita', 'laptop', admin);
    await users.revokeUser('rita', admin);
    const entries = await stores.registry.audit({});
    expect(entries.map((e) => [e.action, e.actor, e.details])).toEqual([
      ['user_revoke', 'ana', { user: 'rita', tokens: 1 }],
      ['token_issue', 'ana', { user: 'rita', label: 'laptop' }],
      ['user_add', 'ana', { user: 'rita', role: 'inference', models: ['churn'] }]
    ]);
    expect(JSON.stringify(entries)).not.toContain(token);
  });
});

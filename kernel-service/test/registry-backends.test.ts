/**
 * The registry's behaviour on both backends: the same cases against SQLite (a fresh file each)
 * and PostgreSQL (a fresh database each, on the file's throwaway server). Every call is awaited,
 * so the cases hold for the synchronous and the asynchronous SQLite registry alike.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usePostgres } from '../../test/support/postgres.js';
import { DEFAULT_INTEGRITY_POLICY } from '../src/protocol/integrity.js';
import type { AuditVerdict } from '../src/registry/audit-chain.js';
import { verifyAuditLog } from '../src/registry/audit-log.js';
import { PostgresRegistry } from '../src/registry/postgres-registry.js';
import { verifyPostgresAuditLog } from '../src/registry/postgres-audit-log.js';
import type { NewVersion, Registry } from '../src/registry/registry.js';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { type PostgresPool, openPostgres } from '../src/storage/postgres-database.js';

const postgres = usePostgres();

/** One backend's registry, opened on fresh storage; `reopen` opens the same storage again. */
interface RegistryBackend {
  open(): Promise<Registry>;
  reopen(): Promise<Registry>;
  /** SQL run outside the registry, as someone with access to the database would. */
  exec(sql: string): Promise<void>;
  verify(): Promise<AuditVerdict>;
  dispose(): Promise<void>;
}

function sqliteBackend(): RegistryBackend {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'nbd-registry-')), 'registry.sqlite');
  const raw = () => new Database(file);
  return {
    open: async () => new SqliteRegistry(file),
    reopen: async () => new SqliteRegistry(file),
    async exec(sql) {
      const db = raw();
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    async verify() {
      const db = raw();
      try {
        return verifyAuditLog(db);
      } finally {
        db.close();
      }
    },
    dispose: async () => undefined
  };
}

function postgresBackend(): RegistryBackend {
  const pools: PostgresPool[] = [];
  let url: Promise<string> | undefined;
  const pool = async () => {
    url ??= postgres().freshDatabase();
    const p = await openPostgres(await url);
    pools.push(p);
    return p;
  };
  return {
    open: async () => PostgresRegistry.open(await pool()),
    reopen: async () => PostgresRegistry.open(await pool()),
    exec: async (sql) => void (await (await pool()).query(sql)),
    verify: async () => verifyPostgresAuditLog(await pool()),
    dispose: async () => void (await Promise.all(pools.map((p) => p.end())))
  };
}

const alice = { user: 'alice', notebook: 'churn.ipynb' };

function newVersion(model: string, sha: string): NewVersion {
  return {
    model,
    sha256: sha,
    artifact: sha,
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [], batchable: true },
    metadata: {},
    batching: { maxBatchSize: 64, maxQueueDelayMicros: 0, instances: 1, maxQueueSize: 1024 }
  };
}

describe.each([
  { name: 'SQLite', backend: sqliteBackend },
  { name: 'PostgreSQL', backend: postgresBackend }
])('Registry on $name', ({ backend: makeBackend }) => {
  let backend: RegistryBackend;
  let registry: Registry;

  beforeEach(async () => {
    backend = makeBackend();
    registry = await backend.open();
  });
  afterEach(async () => {
    await registry.close();
    await backend.dispose();
  });

  async function reopen(): Promise<void> {
    await registry.close();
    registry = await backend.reopen();
  }

  it('should number versions and return the existing one for the same bytes', async () => {
    const a = await registry.registerVersion(newVersion('churn', 'aaa'), alice);
    const b = await registry.registerVersion(newVersion('churn', 'bbb'), alice);
    const again = await registry.registerVersion(newVersion('churn', 'aaa'), alice);
    expect([a.version.version, b.version.version]).toEqual([1, 2]);
    expect(a.created).toBe(true);
    expect(again).toMatchObject({ created: false, version: { version: 1 } });
    expect((await registry.getModel('churn'))!.versions.map((v) => v.stage)).toEqual(['none', 'none']);
    expect(await registry.getModel('nope')).toBeUndefined();
  });

  it('should keep the signature, metadata, batching and profile as registered', async () => {
    const input = { ...newVersion('churn', 'aaa'), metadata: { owner: 'ana', tags: ['a', 'b'] }, profile: { columns: { x: { mean: 1.5 } } }, stage: 'staging' as const };
    const { version } = await registry.registerVersion(input, alice);
    expect(version).toMatchObject({ model: 'churn', version: 1, sha256: 'aaa', artifact: 'aaa', stage: 'staging', createdBy: 'alice', metadata: input.metadata, signature: input.signature, batching: input.batching });
    expect(await registry.getProfile('churn', 1)).toEqual(input.profile);
    expect(await registry.getProfile('churn', 2)).toBeUndefined();
    expect((await registry.listModels()).map((m) => m.name)).toEqual(['churn']);
  });

  it('should keep an integrity policy with the deployment, audited, defaults for kinds never set', async () => {
    await registry.registerVersion(newVersion('churn', 'aaa'), alice);
    expect((await registry.getModel('churn'))!.deployment.integrityPolicy).toEqual(DEFAULT_INTEGRITY_POLICY);
    const policy = { ...DEFAULT_INTEGRITY_POLICY, out_of_range: 'refuse' as const };
    await registry.changeDeployment('churn', { kind: 'integrity_policy', policy }, alice, { changed: { out_of_range: 'refuse' } });
    await reopen();
    expect((await registry.getModel('churn'))!.deployment.integrityPolicy).toEqual(policy);
    expect((await registry.audit({ model: 'churn', limit: 1 }))[0]).toMatchObject({ action: 'integrity_policy', notebook: 'churn.ipynb', details: { changed: { out_of_range: 'refuse' } } });
  });

  it('should archive the previous production version on promote', async () => {
    await registry.registerVersion(newVersion('churn', 'aaa'), alice);
    await registry.registerVersion(newVersion('churn', 'bbb'), alice);
    await registry.changeDeployment('churn', { kind: 'promote', version: 1 }, alice);
    const after = await registry.changeDeployment('churn', { kind: 'promote', version: 2 }, alice);
    expect(after.deployment.production).toBe(2);
    expect(after.versions.map((v) => v.stage)).toEqual(['archived', 'production']);
  });

  it('should roll back through earlier production versions, then refuse', async () => {
    for (const sha of ['a', 'b', 'c']) await registry.registerVersion(newVersion('m', sha), alice);
    for (const v of [1, 2, 3]) await registry.changeDeployment('m', { kind: 'promote', version: v }, alice);
    expect(await registry.rollbackTarget('m')).toBe(2);
    expect((await registry.changeDeployment('m', { kind: 'rollback' }, alice)).deployment.production).toBe(2);
    expect((await registry.changeDeployment('m', { kind: 'rollback' }, alice)).deployment.production).toBe(1);
    await expect(async () => registry.changeDeployment('m', { kind: 'rollback' }, alice)).rejects.toThrowError(/no earlier production version/);
    // promoting again makes the version a rollback target once more
    await registry.changeDeployment('m', { kind: 'promote', version: 3 }, alice);
    expect((await registry.changeDeployment('m', { kind: 'rollback' }, alice)).deployment.production).toBe(1);
    expect((await registry.audit({ model: 'm', limit: 1 }))[0]).toMatchObject({ action: 'rollback', version: 1, details: { from: 3, to: 1 } });
  });

  it('should need a production version before a canary, and clear the canary when it is promoted', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await registry.registerVersion(newVersion('m', 'b'), alice);
    await expect(async () => registry.changeDeployment('m', { kind: 'canary', version: 2, percent: 10 }, alice)).rejects.toThrowError(/no production version/);
    await registry.changeDeployment('m', { kind: 'promote', version: 1 }, alice);
    const split = await registry.changeDeployment('m', { kind: 'canary', version: 2, percent: 12.5 }, alice);
    expect(split.deployment.canary).toEqual({ version: 2, percent: 12.5 });
    expect(split.versions[1]!.stage).toBe('staging');
    expect((await registry.changeDeployment('m', { kind: 'promote', version: 2 }, alice)).deployment.canary).toBeNull();
  });

  it('should shadow, stop serving, change batching and capture', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await registry.registerVersion(newVersion('m', 'b'), alice);
    await registry.changeDeployment('m', { kind: 'promote', version: 1 }, alice);
    expect((await registry.changeDeployment('m', { kind: 'shadow', version: 2, enabled: true }, alice)).deployment.shadows).toEqual([2]);
    await expect(async () => registry.changeDeployment('m', { kind: 'shadow', version: 1, enabled: true }, alice)).rejects.toThrowError(/cannot also shadow/);
    expect((await registry.changeDeployment('m', { kind: 'serving', serving: false }, alice)).deployment.serving).toBe(false);
    const batching = { maxBatchSize: 8, maxQueueDelayMicros: 500, instances: 2, maxQueueSize: 16 };
    expect((await registry.changeDeployment('m', { kind: 'batching', version: 2, batching }, alice)).versions[1]!.batching).toEqual(batching);
    const capture = { rate: 0.25, retentionDays: 7 };
    expect((await registry.changeDeployment('m', { kind: 'capture', capture }, alice)).deployment.capture).toEqual(capture);
    expect((await registry.changeDeployment('m', { kind: 'capture', capture: null }, alice)).deployment.capture).toBeNull();
    const archived = await registry.changeDeployment('m', { kind: 'stage', version: 2, stage: 'archived' }, alice);
    expect(archived.deployment.shadows).toEqual([]);
    expect(archived.versions[1]!.stage).toBe('archived');
  });

  it('should refuse to archive the production version', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await registry.changeDeployment('m', { kind: 'promote', version: 1 }, alice);
    await expect(async () => registry.changeDeployment('m', { kind: 'stage', version: 1, stage: 'archived' }, alice)).rejects.toThrowError(/is in production/);
  });

  it('should name a missing model or version', async () => {
    await expect(async () => registry.changeDeployment('nope', { kind: 'rollback' }, alice)).rejects.toThrowError('model "nope" is not registered');
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await expect(async () => registry.changeDeployment('m', { kind: 'promote', version: 9 }, alice)).rejects.toThrowError('model "m" has no version 9');
  });

  it('should record who changed what, from which notebook, and keep the log append-only and verifiable', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await registry.changeDeployment('m', { kind: 'promote', version: 1 }, { user: 'bob', notebook: null, cell: 'c7' });
    await registry.appendAudit({ user: 'nbdeploy' }, 'alert', null, null, { rule: 'latency' });
    const entries = await registry.audit({ model: 'm' });
    expect(entries.map((e) => [e.action, e.actor, e.notebook, e.cell])).toEqual([
      ['promote', 'bob', null, 'c7'],
      ['register', 'alice', 'churn.ipynb', null]
    ]);
    expect((await registry.audit({})).map((e) => e.id)).toEqual([3, 2, 1]);
    await expect(backend.exec("UPDATE audit_log SET actor = 'mallory'")).rejects.toThrowError(/append-only/);
    await expect(backend.exec('DELETE FROM audit_log')).rejects.toThrowError(/append-only/);
    expect(await backend.verify()).toMatchObject({ ok: true, entries: 3 });
  });

  it('should leave no trace of a change that fails half-way', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    const before = (await registry.audit({})).length;
    await expect(async () => registry.changeDeployment('m', { kind: 'rollback' }, alice)).rejects.toThrow();
    expect((await registry.audit({})).length).toBe(before);
    expect((await registry.getModel('m'))!.deployment.production).toBeNull();
  });

  it('should keep validation reports with their version and the reviews of the latest one', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await expect(async () => registry.addReview('m', 1, 'approve', '', { user: 'rita' })).rejects.toThrowError(/no validation report to review/);
    await registry.addValidation('m', 1, false, { metrics: { f1: 0.7 } }, alice);
    const second = await registry.addValidation('m', 1, true, { metrics: { f1: 0.93 } }, { user: 'val' });
    await expect(async () => registry.addReview('m', 1, 'approve', '', alice)).rejects.toThrowError(/alice registered version 1/);
    await expect(async () => registry.addReview('m', 1, 'approve', '', { user: 'val' })).rejects.toThrowError(/val validated version 1/);
    await registry.addReview('m', 1, 'request_changes', 'slice "age<25" is weak', { user: 'rita' });
    const review = await registry.addReview('m', 1, 'approve', 'fine now', { user: 'sam' });
    expect(review).toMatchObject({ model: 'm', version: 1, validationId: second.id, decision: 'approve', createdBy: 'sam' });
    expect(await registry.latestValidation('m', 1)).toMatchObject({ id: second.id, passed: true, report: { metrics: { f1: 0.93 } } });
    expect(await registry.getValidation(second.id)).toMatchObject({ id: second.id, createdBy: 'val' });
    expect(await registry.getValidation(9999)).toBeUndefined();
    expect((await registry.getVersion('m', 1))!).toMatchObject({
      validatedBy: ['alice', 'val'],
      validation: { id: second.id, passed: true, approvedBy: ['sam'], review: { decision: 'approve', by: 'sam', comment: 'fine now' } }
    });
    expect((await registry.reviews('m', 1)).map((r) => r.createdBy)).toEqual(['rita', 'sam']);
    expect((await registry.audit({ model: 'm' })).map((e) => e.action)).toEqual(['review', 'review', 'validate', 'validate', 'register']);
    await expect(async () => registry.addValidation('m', 7, true, {}, alice)).rejects.toThrowError('model "m" has no version 7');
  });

  it('should keep its data across reopening', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    expect(await registry.recordFeedback([{ requestId: 'r1', model: 'm', groundTruth: 1 }, { requestId: 'r1', model: 'm', groundTruth: 2 }], alice)).toBe(2);
    await reopen();
    expect((await registry.getVersion('m', 1))?.sha256).toBe('a');
    expect(await registry.artifactKeys()).toEqual(new Set(['a']));
    expect((await registry.audit({ model: 'm', limit: 1 }))[0]).toMatchObject({ action: 'feedback', details: { count: 2 } });
  });
});

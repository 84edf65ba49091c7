import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewVersion } from '../src/registry/registry.js';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { DEFAULT_INTEGRITY_POLICY } from '../src/protocol/integrity.js';

const alice = { user: 'alice', notebook: 'churn.ipynb' };

function newVersion(model: string, sha: string): NewVersion {
  return {
    model,
    sha256: sha,
    artifact: sha,
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [], batchable: true },
    metadata: {},
    batching: { maxBatchSize: 64, maxQueueDelayMicros: 0 }
  };
}

describe('SqliteRegistry', () => {
  let file: string;
  let registry: SqliteRegistry;

  beforeEach(() => {
    file = path.join(mkdtempSync(path.join(os.tmpdir(), 'nbd-registry-')), 'registry.sqlite');
    registry = new SqliteRegistry(file);
  });
  afterEach(() => registry.close());

  it('should number versions and return the existing one for the same bytes', async () => {
    const a = await registry.registerVersion(newVersion('churn', 'aaa'), alice);
    const b = await registry.registerVersion(newVersion('churn', 'bbb'), alice);
    const again = await registry.registerVersion(newVersion('churn', 'aaa'), alice);
    expect([a.version.version, b.version.version]).toEqual([1, 2]);
    expect(again).toMatchObject({ created: false, version: { version: 1 } });
    expect((await registry.getModel('churn'))!.versions.map((v) => v.stage)).toEqual(['none', 'none']);
  });

  it('should keep an integrity policy with the deployment, audited, defaults for kinds never set', async () => {
    await registry.registerVersion(newVersion('churn', 'aaa'), alice);
    expect((await registry.getModel('churn'))!.deployment.integrityPolicy).toEqual(DEFAULT_INTEGRITY_POLICY);
    const policy = { ...DEFAULT_INTEGRITY_POLICY, out_of_range: 'refuse' as const };
    await registry.changeDeployment('churn', { kind: 'integrity_policy', policy }, alice, { changed: { out_of_range: 'refuse' } });
    await registry.close();
    registry = new SqliteRegistry(file);
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
    expect((await registry.changeDeployment('m', { kind: 'rollback' }, alice)).deployment.production).toBe(2);
    expect((await registry.changeDeployment('m', { kind: 'rollback' }, alice)).deployment.production).toBe(1);
    await expect(registry.changeDeployment('m', { kind: 'rollback' }, alice)).rejects.toThrowError(/no earlier production version/);
    // promoting again makes the version a rollback target once more
    await registry.changeDeployment('m', { kind: 'promote', version: 3 }, alice);
    expect((await registry.changeDeployment('m', { kind: 'rollback' }, alice)).deployment.production).toBe(1);
  });

  it('should need a production version before a canary, and clear the canary when it is promoted', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await registry.registerVersion(newVersion('m', 'b'), alice);
    await expect(registry.changeDeployment('m', { kind: 'canary', version: 2, percent: 10 }, alice)).rejects.toThrowError(/no production version/);
    await registry.changeDeployment('m', { kind: 'promote', version: 1 }, alice);
    const split = await registry.changeDeployment('m', { kind: 'canary', version: 2, percent: 10 }, alice);
    expect(split.deployment.canary).toEqual({ version: 2, percent: 10 });
    expect(split.versions[1]!.stage).toBe('staging');
    expect((await registry.changeDeployment('m', { kind: 'promote', version: 2 }, alice)).deployment.canary).toBeNull();
  });

  it('should refuse to archive the production version', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await registry.changeDeployment('m', { kind: 'promote', version: 1 }, alice);
    await expect(registry.changeDeployment('m', { kind: 'stage', version: 1, stage: 'archived' }, alice)).rejects.toThrowError(/is in production/);
  });

  it('should name a missing model or version', async () => {
    await expect(registry.changeDeployment('nope', { kind: 'rollback' }, alice)).rejects.toThrowError('model "nope" is not registered');
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await expect(registry.changeDeployment('m', { kind: 'promote', version: 9 }, alice)).rejects.toThrowError('model "m" has no version 9');
  });

  it('should record who changed what, from which notebook, and keep the log append-only', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await registry.changeDeployment('m', { kind: 'promote', version: 1 }, { user: 'bob', notebook: null });
    const entries = await registry.audit({ model: 'm' });
    expect(entries.map((e) => [e.action, e.actor, e.notebook])).toEqual([
      ['promote', 'bob', null],
      ['register', 'alice', 'churn.ipynb']
    ]);
    await registry.close();
    const db = new Database(file);
    expect(() => db.prepare("UPDATE audit_log SET actor = 'mallory'").run()).toThrowError(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log').run()).toThrowError(/append-only/);
    db.close();
    registry = new SqliteRegistry(file);
  });

  it('should leave no trace of a change that fails half-way', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    const before = (await registry.audit({})).length;
    await expect(registry.changeDeployment('m', { kind: 'rollback' }, alice)).rejects.toThrow();
    expect((await registry.audit({})).length).toBe(before);
    expect((await registry.getModel('m'))!.deployment.production).toBeNull();
  });

  it('should keep validation reports with their version and the reviews of the latest one', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await expect(registry.addReview('m', 1, 'approve', '', alice)).rejects.toThrowError(/no validation report to review/);
    await registry.addValidation('m', 1, false, { metrics: { f1: 0.7 } }, alice);
    const second = await registry.addValidation('m', 1, true, { metrics: { f1: 0.93 } }, alice);
    await registry.addReview('m', 1, 'request_changes', 'slice "age<25" is weak', { user: 'rita' });
    expect(await registry.latestValidation('m', 1)).toMatchObject({ id: second.id, passed: true, report: { metrics: { f1: 0.93 } } });
    expect((await registry.getVersion('m', 1))!.validation).toMatchObject({
      id: second.id,
      passed: true,
      review: { decision: 'request_changes', by: 'rita', comment: 'slice "age<25" is weak' }
    });
    expect((await registry.audit({ model: 'm' })).map((e) => e.action)).toEqual(['review', 'validate', 'validate', 'register']);
    await expect(registry.addValidation('m', 7, true, {}, alice)).rejects.toThrowError('model "m" has no version 7');
  });

  it('should keep its data across reopening', async () => {
    await registry.registerVersion(newVersion('m', 'a'), alice);
    await registry.recordFeedback([{ requestId: 'r1', model: 'm', groundTruth: 1 }], alice);
    await registry.close();
    registry = new SqliteRegistry(file);
    expect((await registry.getVersion('m', 1))?.sha256).toBe('a');
    expect(await registry.artifactKeys()).toEqual(new Set(['a']));
  });
});

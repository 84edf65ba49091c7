/**
 * The monitoring store's `transaction(fn)`: the store calls an async `fn` awaits commit
 * together, or none of them when it throws, and transactions asked for at once run one after
 * the other (the feedback join after the flush asked for before it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PredictionRecord, SqliteMonitoringStore } from '../../src/monitoring/store.js';
import { mergeWindowStates } from '../../src/monitoring/window.js';

const prediction = (key: string): PredictionRecord => ({ model: 'm', key, version: 1, windowStart: 0, label: '1', score: null, value: null, at: 1_000 });

describe('SqliteMonitoringStore.transaction', () => {
  let dir: string;
  let store: SqliteMonitoringStore;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'nbdeploy-transaction-'));
    store = new SqliteMonitoringStore(path.join(dir, 'db.sqlite'), mergeWindowStates);
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should keep none of the calls of a transaction that throws, and all of one that returns', async () => {
    await expect(
      store.transaction(async () => {
        await store.appendPredictions([prediction('a')]);
        await store.saveDetector('m', 1, { state: { kind: 'adwin' }, detectedAt: null });
        throw new Error('half-way');
      })
    ).rejects.toThrow('half-way');
    expect(await store.claimPredictions('m', ['a'])).toEqual([]);
    expect(await store.loadDetector('m', 1)).toBeUndefined();

    const result = await store.transaction(async () => {
      await store.appendPredictions([prediction('b')]);
      return 'done';
    });
    expect(result).toBe('done');
    expect((await store.claimPredictions('m', ['b'])).map((c) => c.key)).toEqual(['b']);
  });

  it('should run transactions asked for at once one after the other, in the order asked', async () => {
    const order: string[] = [];
    const step = (name: string) =>
      store.transaction(async () => {
        order.push(`${name} begins`);
        await store.appendPredictions([prediction(name)]);
        await new Promise((resolve) => setImmediate(resolve));
        order.push(`${name} ends`);
      });
    const claim = store.transaction(() => store.claimPredictions('m', ['first', 'second']));
    await Promise.all([step('first'), step('second')]);
    // Asked for before the appends: it found nothing; asked for after, it finds both.
    expect(await claim).toEqual([]);
    expect(order).toEqual(['first begins', 'first ends', 'second begins', 'second ends']);
    expect((await store.transaction(() => store.claimPredictions('m', ['first', 'second']))).map((c) => c.key)).toEqual(['first', 'second']);
  });
});

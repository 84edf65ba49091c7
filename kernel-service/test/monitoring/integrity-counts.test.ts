import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IntegrityPolicy, IntegrityReport } from '../../src/protocol/integrity.js';
import { IntegrityCounts, NULL_SPIKE_MIN_ROWS, isNullSpike } from '../../src/monitoring/integrity-counts.js';
import { MonitorState } from '../../src/monitoring/monitor-state.js';
import { SqliteMonitoringStore } from '../../src/monitoring/store.js';
import { MonitorWindow, type WindowState } from '../../src/monitoring/window.js';
import type { Registry } from '../../src/registry/registry.js';
import type { RequestTensor } from '../../src/serving/admission.js';
import { PROFILE, SIGNATURE, age, city, inspect, json, visits } from '../serving/churn-requests.js';

describe('null_spike', () => {
  it('should need enough rows, a real excess and a significant one', () => {
    expect(isNullSpike(10, NULL_SPIKE_MIN_ROWS - 1, 0)).toBe(false);
    expect(isNullSpike(10, 40, 0.01)).toBe(true); // 25% against 1%
    expect(isNullSpike(2, 40, 0.01)).toBe(false); // 5% against 1%: z ≈ 2.5
    expect(isNullSpike(150, 1000, 0.1)).toBe(true); // 15% against 10%: z ≈ 5.3
    expect(isNullSpike(150, 1000, null)).toBe(true); // no training rate: 0
    expect(isNullSpike(120, 1000, 0.1)).toBe(false); // 12%: under the 5-point excess
  });

  it('should count every null of a feature in a window once it spikes, and nothing before', () => {
    const counts = new IntegrityCounts();
    const nulls = (n: number, rows: number): IntegrityReport => ({ violations: [], nulls: [{ feature: 'age', nulls: n, rows, trainingNullRate: 0.01 }] });
    counts.add(nulls(1, 10)); // 10%, but only 10 rows
    expect(counts.counts.null_spike).toBe(0);
    counts.add(nulls(4, 10)); // 5 of 20: spikes, and the 5 count
    expect(counts.counts.null_spike).toBe(5);
    counts.add(nulls(2, 10));
    expect(counts.counts.null_spike).toBe(7);
    expect(counts.features.get('age')).toMatchObject({ nulls: 7, rows: 30, spiking: true, counts: { null_spike: 7 } });
    expect(counts.features.get('age')!.detail).toMatch(/^null share 0\.250 in the window against 0\.010 in training/);
  });

  it('should not spike on a null rate like training', () => {
    const counts = new IntegrityCounts();
    for (let i = 0; i < 100; i++) counts.add({ violations: [], nulls: [{ feature: 'age', nulls: i % 10 === 0 ? 1 : 0, rows: 1, trainingNullRate: 0.1 }] });
    expect(counts.counts.null_spike).toBe(0);
  });
});

describe('MonitorWindow integrity', () => {
  it('should count per kind and per feature, round-trip through JSON and merge', () => {
    const w = new MonitorWindow('m', 1, 0, 60);
    const { report } = inspect([age([200, 30]), city(['berlin', 'paris']), visits([1, 1])]);
    w.integrity.add(report);
    const back = MonitorWindow.fromJSON(JSON.parse(JSON.stringify(w.toJSON())));
    expect(back.integrity.counts).toEqual({ missing_feature: 0, unexpected_feature: 0, type_mismatch: 0, new_category: 1, out_of_range: 1, null_spike: 0 });
    back.merge(w.toJSON());
    expect(back.integrity.counts.out_of_range).toBe(2);
    expect(back.integrity.features.get('city')!.counts).toEqual({ new_category: 2 });
    expect(back.integrity.features.get('city')!.detail).toBe('1 value(s) in categories not seen in training (e.g. "berlin"); served: as sent');
    // Windows stored before integrity was counted still load.
    const { integrity: _counts, integrityFeatures: _features, ...old } = w.toJSON();
    expect(MonitorWindow.fromJSON(old).integrity.counts.out_of_range).toBe(0);
  });
});

describe('MonitorState status integrity', () => {
  it('should report counts per kind and per feature over the span, closed windows and refused requests included', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nbdeploy-integrity-'));
    const merge = (a: WindowState, b: WindowState): WindowState => {
      const w = MonitorWindow.fromJSON(a);
      w.merge(b);
      return w.toJSON();
    };
    const store = new SqliteMonitoringStore(path.join(dir, 'db.sqlite'), merge);
    let clock = 1_700_000_000_000;
    const version = { model: 'churn', version: 1, signature: SIGNATURE, metadata: {} };
    const registry = {
      getVersion: async (_m: string, v: number) => (v === 1 ? version : undefined),
      getProfile: async () => PROFILE,
      getModel: async () => ({ name: 'churn', deployment: { production: 1, canary: null, shadows: [] }, versions: [version] })
    } as unknown as Registry;
    const monitor = new MonitorState(registry, store, { windowSeconds: 60, now: () => clock });
    try {
      const observe = (inputs: RequestTensor[], policy: Partial<IntegrityPolicy> = {}, shadow = false): void => {
        const { inputs: checked, report, refusal } = inspect(inputs, policy);
        monitor.observe({
          model: 'churn',
          version: 1,
          requestId: String(clock),
          shadow,
          inputs: checked,
          outputs: refusal ? null : [{ name: 'label', datatype: 'INT64', shape: [checked[0]!.shape[0]!], data: new BigInt64Array(checked[0]!.shape[0]!) }],
          error: refusal,
          latencyMs: 1,
          at: clock,
          integrity: report
        });
      };
      observe([age([200, 30]), city(['berlin', 'paris']), visits([1, 1])]);
      observe([city(['paris']), visits([1])]); // refused: missing age
      clock += 61_000; // the first window closes and is stored
      observe([json('age', 'FP32', ['40,5']), city(['paris']), visits([1])]);
      observe([age([200]), city(['paris']), visits([1])], {}, true); // shadow traffic is not counted
      const s = await monitor.status('churn', 900);
      expect(s.integrity).toEqual({ missing_feature: 1, unexpected_feature: 0, type_mismatch: 1, new_category: 1, out_of_range: 1, null_spike: 0 });
      expect(s.ops.errors_by_code).toEqual({ NBD_ERR_INTEGRITY_REFUSED: 1 });
      expect(s.integrity_features.age).toMatchObject({ counts: { out_of_range: 1, missing_feature: 1, type_mismatch: 1 }, null_share: 0 });
      expect(s.integrity_features.age!.detail).toBe('comma decimals ("40,5" read as 40.5); served: coerced to FP32');
      expect(s.versions[0]!.integrity.out_of_range).toBe(1);
      // A span that covers only the second window.
      expect((await monitor.status('churn', 5)).integrity.type_mismatch).toBe(1);
      expect((await monitor.status('churn', 5)).integrity.out_of_range).toBe(0);
    } finally {
      await monitor.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InferenceRing, readBatch } from '../../src/monitoring/inference-ring.js';
import type { ObservedInference } from '../../src/monitoring/ingest.js';
import { MonitorState } from '../../src/monitoring/monitor-state.js';
import { SqliteMonitoringStore } from '../../src/monitoring/store.js';
import { mergeWindowStates } from '../../src/monitoring/window.js';
import type { Tensor } from '../../src/protocol/datatypes.js';
import type { Registry } from '../../src/registry/registry.js';

const values = (t: Tensor): unknown[] => Array.from(t.data as ArrayLike<unknown>);

function served(requestId: string, at: number, rows: number[][], labels: Array<number | bigint>): ObservedInference {
  return {
    model: 'm',
    version: 1,
    requestId,
    shadow: false,
    inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 2], data: Float32Array.from(rows.flat()) }],
    outputs: [
      { name: 'label', datatype: 'INT64', shape: [labels.length], data: BigInt64Array.from(labels.map(BigInt)) },
      { name: 'probabilities', datatype: 'FP32', shape: [labels.length, 2], data: Float32Array.from(labels.flatMap((l) => (Number(l) ? [0.25, 0.75] : [0.75, 0.25]))) }
    ],
    error: null,
    latencyMs: 2.5,
    at,
    integrity: { violations: [], nulls: [{ feature: 'a', nulls: 0, rows: rows.length, trainingNullRate: 0.01 }, { feature: 'b', nulls: 1, rows: rows.length, trainingNullRate: null }] }
  };
}

describe('InferenceRing', () => {
  it('should hand over every field of every inference, as the worker reads them back', () => {
    const ring = new InferenceRing(8); // small: appends grow it
    const first = served('r1', 1000, [[1.5, NaN], [3, 4]], [1, 0]);
    const refused: ObservedInference = {
      model: 'm',
      version: 2,
      requestId: 'r2',
      shadow: true,
      inputs: [
        { name: 'city', datatype: 'BYTES', shape: [2, 1], data: ['paris', ''] },
        { name: 'flag', datatype: 'BOOL', shape: [2, 1], data: Uint8Array.from([1, 0]) },
        { name: 'half', datatype: 'FP16', shape: [2, 1], data: Uint16Array.from([0x3c00, 0x4000]) },
        { name: 'id', datatype: 'UINT64', shape: [2, 1], data: BigUint64Array.from([2n ** 60n + 1n, 7n]) },
        { name: 'image', datatype: 'FP32', shape: [2, 1001], data: new Float32Array(2002) }
      ],
      outputs: null,
      error: { code: 'NBD_ERR_INTEGRITY_REFUSED' },
      latencyMs: 0.5,
      at: 2000,
      integrity: {
        violations: [{ kind: 'missing_feature', feature: 'age', detail: 'missing input "age"', rows: 2, served: 'filled with NaN', refused: true }],
        nulls: []
      }
    };
    ring.append(first);
    ring.append(refused);
    expect([ring.events, ring.rows]).toEqual([2, 4]);
    const names: string[] = [];
    const [a, b] = readBatch(ring.take()!, names);
    expect(ring.take()).toBeNull();

    expect(a).toMatchObject({ model: 'm', version: 1, requestId: 'r1', shadow: false, error: null, latencyMs: 2.5, at: 1000 });
    expect(a!.inputs[0]).toMatchObject({ name: 'input', datatype: 'FP32', shape: [2, 2] });
    expect(values(a!.inputs[0]!)).toEqual([1.5, NaN, 3, 4]);
    expect(values(a!.outputs![0]!)).toEqual([1, 0]);
    expect(values(a!.outputs![1]!)).toEqual([0.25, 0.75, 0.75, 0.25]);
    expect(a!.integrity).toEqual(first.integrity);

    expect(b).toMatchObject({ version: 2, requestId: 'r2', shadow: true, outputs: null, error: { code: 'NBD_ERR_INTEGRITY_REFUSED' }, integrity: refused.integrity });
    expect(b!.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual(refused.inputs.map((t) => [t.name, t.datatype, t.shape]));
    expect(values(b!.inputs[0]!)).toEqual(['paris', '']);
    expect(values(b!.inputs[1]!)).toEqual([1, 0]);
    expect(values(b!.inputs[2]!)).toEqual([0x3c00, 0x4000]); // FP16 as its stored bits, as the tensor holds them
    expect(values(b!.inputs[3]!)).toEqual([String(2n ** 60n + 1n), '7']); // past 2^53: digits kept
    expect(values(b!.inputs[4]!)).toEqual([]); // 1,001 values per row: wider than monitoring reads
  });

  it('should intern names once, and let a reader that starts later read on from the names handed over', () => {
    const ring = new InferenceRing();
    ring.append(served('r1', 1000, [[1, 2]], [1]));
    const firstBatch = ring.take()!;
    expect(firstBatch.names).toEqual(['m', 'input', 'label', 'probabilities', 'a', 'b']);
    ring.append(served('r2', 1000, [[1, 2]], [0]));
    const later = ring.take()!;
    expect(later.names).toEqual([]);
    // A restarted worker gets the names handed over so far, then reads the next batch.
    const names = ring.handedNames();
    expect(names).toEqual(firstBatch.names);
    expect(readBatch(later, names)[0]).toMatchObject({ model: 'm', requestId: 'r2' });
  });

  it('should give the monitor the same windows, log and status as the inferences themselves', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nbdeploy-ring-'));
    const version = {
      model: 'm',
      version: 1,
      signature: { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }], batchable: true },
      metadata: {}
    };
    const profile = { features: { a: { kind: 'numeric', sample: [0, 1, 2, 3] }, b: { kind: 'numeric', sample: [0, 1, 2, 3] } } };
    const registry = {
      getVersion: async () => version,
      getProfile: async () => profile,
      getModel: async () => ({ name: 'm', deployment: { production: 1, canary: null, shadows: [] }, versions: [version] })
    } as unknown as Registry;
    const clock = 1_700_000_000_000;
    const events = Array.from({ length: 30 }, (_, i) => served(`r${i}`, clock, [[i, i + 1], [i + 2, i + 3]], [i % 2, 1]));
    const stores: SqliteMonitoringStore[] = [];
    const monitor = (name: string): MonitorState => {
      const store = new SqliteMonitoringStore(path.join(dir, name), mergeWindowStates);
      stores.push(store);
      return new MonitorState(registry, store, { windowSeconds: 60, now: () => clock + 1000 });
    };
    try {
      const direct = monitor('direct.sqlite');
      const viaRing = monitor('ring.sqlite');
      const ring = new InferenceRing();
      const names: string[] = [];
      for (const e of events) {
        direct.observe(e);
        ring.append(e);
        if (ring.events === 7) for (const read of readBatch(ring.take()!, names)) viaRing.observe(read);
      }
      for (const read of readBatch(ring.take()!, names)) viaRing.observe(read);
      const feedback = events.flatMap((e, i) => [{ requestId: `${e.requestId}#0`, groundTruth: i % 2 }, { requestId: `${e.requestId}#1`, groundTruth: 0 }]);
      expect(await viaRing.feedback('m', feedback)).toBe(await direct.feedback('m', feedback));
      const a = await direct.status('m', 900);
      const b = await viaRing.status('m', 900);
      expect(b).toEqual(a);
      expect(b.ops).toMatchObject({ requests: 30, rows: 60 });
      expect(b.performance.labelled).toBe(60);
      await direct.close();
      await viaRing.close();
    } finally {
      for (const s of stores) await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

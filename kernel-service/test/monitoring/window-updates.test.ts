import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Registry } from '../../src/registry/registry.js';
import type { ObservedInference } from '../../src/monitoring/ingest.js';
import { MonitorState } from '../../src/monitoring/monitor-state.js';
import type { WindowUpdate } from '../../src/monitoring/views.js';
import { SqliteMonitoringStore } from '../../src/monitoring/store.js';
import { MonitorWindow, type WindowState } from '../../src/monitoring/window.js';

const merge = (a: WindowState, b: WindowState): WindowState => {
  const w = MonitorWindow.fromJSON(a);
  w.merge(b);
  return w.toJSON();
};

/** A registry that knows no versions: the monitor keeps operations only. */
const registry = { getVersion: async () => undefined, getProfile: async () => undefined, getModel: async () => undefined } as unknown as Registry;

describe('MonitorState updates', () => {
  let dir: string;
  let store: SqliteMonitoringStore;
  let clock: number;
  let monitor: MonitorState;
  let updates: WindowUpdate[][];

  const observe = (version: number, overrides: Partial<ObservedInference> = {}): void =>
    monitor.observe({
      model: 'm',
      version,
      requestId: 'r',
      shadow: false,
      inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 1], data: Float32Array.from([1, 2]) }],
      outputs: [],
      error: null,
      latencyMs: 4,
      at: clock,
      ...overrides
    });
  /** A second later: the events given before are observed first (their plans read from the registry). */
  const tick = async (): Promise<WindowUpdate[]> => {
    clock += 1000;
    await vi.advanceTimersByTimeAsync(1000);
    return updates.at(-1)!;
  };

  beforeEach(() => {
    vi.useFakeTimers();
    dir = mkdtempSync(path.join(tmpdir(), 'nbdeploy-updates-'));
    store = new SqliteMonitoringStore(path.join(dir, 'db.sqlite'), merge);
    clock = 600_000; // a multiple of the 10 s window
    monitor = new MonitorState(registry, store, { windowSeconds: 10, now: () => clock });
    updates = [];
    monitor.onUpdate((u) => updates.push([...u]));
  });

  afterEach(async () => {
    await monitor.close();
    await store.close();
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should report once a second the traffic added since the last report, per version', async () => {
    observe(1);
    observe(1, { error: { code: 'NBD_ERR_INPUT_SHAPE' } });
    observe(2, { shadow: true, latencyMs: 10 });
    const first = await tick();
    expect(first).toHaveLength(1);
    const [u] = first;
    expect(u!.model).toBe('m');
    expect(u!.versions.map((v) => [v.version, v.added])).toEqual([
      [1, { requests: 2, shadowRequests: 0, errors: 1, rows: 4, latencyCount: 2, latencySum: 8 }],
      [2, { requests: 0, shadowRequests: 1, errors: 0, rows: 2, latencyCount: 1, latencySum: 10 }]
    ]);
    expect(u!.windows.map((w) => w.version).sort()).toEqual([1, 2]);
    // Nothing new: an empty update (listeners still hear the tick).
    expect(await tick()).toEqual([]);
    observe(1);
    expect((await tick())[0]!.versions.map((v) => v.added.requests)).toEqual([1]);
  });

  it('should carry the last moments of a window that closed into the next report', async () => {
    observe(1);
    await tick(); // reported: 1 request
    observe(1);
    observe(1);
    clock += 9_500; // 610.5 s, past the window's end: the next request opens a new window
    observe(1);
    const [u] = await tick();
    expect(u!.versions).toHaveLength(1);
    expect(u!.versions[0]!.added.requests).toBe(3); // 2 from the closed window, 1 from the new one
    expect(u!.versions[0]!.window.start).toBe(610_000); // the newest window
    expect(u!.windows.map((w) => w.start)).toEqual([610_000]);
    expect(u!.windows[0]!.served.requests).toBe(1);
  });
});

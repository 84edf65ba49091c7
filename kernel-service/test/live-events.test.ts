import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { AlertView, WindowUpdate } from '../src/monitoring/views.js';
import { MonitorWindow } from '../src/monitoring/window.js';
import { LiveEvents } from '../src/ws/live-events.js';

/** A socket whose send buffer the test fills and drains. */
function fakeSocket() {
  const socket = {
    OPEN: 1,
    readyState: 1,
    bufferedAmount: 0,
    sent: [] as any[],
    send(frame: string) {
      socket.sent.push(JSON.parse(frame));
    }
  };
  return socket;
}

function update(model: string, requests: number, start = 60_000): WindowUpdate {
  const w = new MonitorWindow(model, 1, start, 60);
  for (let i = 0; i < requests; i++) w.served.add(1, 2 + i, i === 0 ? 'NBD_ERR_INPUT_SHAPE' : null);
  w.shadow.add(1, 50, null);
  return {
    model,
    windowSeconds: 60,
    versions: [{ version: 1, window: w, added: { requests, shadowRequests: 1, errors: 1, rows: requests + 1, latencyCount: requests + 1, latencySum: 100 } }],
    windows: [w]
  };
}

const alert = (id: number, state: 'firing' | 'resolved'): AlertView => ({
  id,
  model: 'm',
  version: 1,
  rule: 'error_rate',
  metric: 'error_rate',
  severity: 'critical',
  state,
  condition: '>',
  value: 0.5,
  threshold: 0.05,
  window_seconds: 300,
  fired_at: '2026-01-01T00:00:00.000Z',
  resolved_at: state === 'resolved' ? '2026-01-01T00:01:00.000Z' : null,
  resolved_value: state === 'resolved' ? 0 : null,
  message: 'x'
});

describe('LiveEvents', () => {
  let live: LiveEvents;
  beforeEach(() => {
    live = new LiveEvents(1000);
  });
  afterEach(() => live.close());

  it('should send subscribers the window and stats of their models', () => {
    const a = fakeSocket();
    live.subscribe(a as unknown as WebSocket, 'm');
    live.windowsUpdated([update('m', 4), update('other', 9)], 90_000);
    expect(a.sent.map((f) => [f.model, f.kind])).toEqual([
      ['m', 'stats'],
      ['m', 'window']
    ]);
    const [stats, window] = a.sent;
    expect(stats.data.versions).toEqual([{ version: 1, requests: 4, errors: 1, rows: 5, shadow_requests: 1, latency_ms_mean: 20, latency_ms_max: 50 }]);
    expect(window.data).toMatchObject({ window_start: new Date(60_000).toISOString(), window_seconds: 60, at: new Date(90_000).toISOString() });
    expect(window.data.ops).toMatchObject({ requests: 4, errors: 1, error_rate: 0.25, rows: 4, throughput_per_s: 4 / 30 });
    expect(window.data.versions).toEqual([expect.objectContaining({ version: 1, shadow_requests: 1 })]);
  });

  it('should keep only the latest event of a kind for a slow subscriber, and every alert', () => {
    const a = fakeSocket();
    live.subscribe(a as unknown as WebSocket, 'm');
    a.bufferedAmount = 5000; // slow
    live.windowsUpdated([update('m', 1)], 61_000);
    live.windowsUpdated([update('m', 2)], 62_000);
    live.windowsUpdated([update('m', 3)], 63_000);
    live.alert(alert(1, 'firing'));
    live.alert(alert(2, 'firing'));
    live.alert(alert(1, 'resolved'));
    expect(a.sent).toEqual([]);
    a.bufferedAmount = 0; // drained
    live.windowsUpdated([], 64_000);
    expect(a.sent.map((f) => [f.kind, f.kind === 'alert' ? `${f.data.id} ${f.data.state}` : f.data.ops?.requests ?? f.data.versions[0].requests])).toEqual([
      ['stats', 3],
      ['window', 3],
      ['alert', '1 resolved'],
      ['alert', '2 firing']
    ]);
    // Replaced: two stats, two windows, alert 1's firing event.
    expect(a.sent[0].coalesced).toBe(5);
    expect(a.sent.slice(1).every((f) => f.coalesced === undefined)).toBe(true);
  });
});

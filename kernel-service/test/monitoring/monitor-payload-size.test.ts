/**
 * How big the monitor chart's output is: the 1 h payload of a 30-feature model with traffic,
 * drift, integrity violations, performance and alerts (monitored-hour.ts), as the notebook
 * output carries it — the JSON payload, the SVG fallback and the text summary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MonitorPayload, type MonitorStatus, monitorText } from '../../src/monitoring/monitor-payload.js';
import { monitorSvg } from '../../src/monitoring/monitor-svg.js';
import { HOUR_START, type MonitoredHour, monitoredHour } from './monitored-hour.js';

const kb = (text: string): number => Buffer.byteLength(text) / 1024;

let hour: MonitoredHour;
let payload: MonitorPayload;
let status: MonitorStatus;
let svg: string;

beforeAll(async () => {
  hour = await monitoredHour();
  ({ payload, status } = await hour.snapshot(3600));
  svg = await monitorSvg(payload);
}, 120_000);

afterAll(() => hour?.close());

describe('the 1 h monitor output of a 30-feature model', () => {
  it('should stay within 100 KB: payload and SVG together', () => {
    // Was 396 KB of payload and 759 KB of SVG (1,155 KB), then 158 KB; see docs/monitoring.md.
    expect(kb(JSON.stringify(payload)) + kb(svg)).toBeLessThanOrEqual(100);
    // The status summary of the span is the reply's, not the notebook output's.
    expect(payload).not.toHaveProperty('status');
    expect(status.ops.requests).toBe(payload.series.ops.reduce((sum, o) => sum + o.requests, 0));
    // The drift cells as their tooltips show them (4 decimals).
    const cells = payload.series.drift.flatMap((d) => [...d.statistic, ...d.p_value]).filter((x) => x !== null);
    expect(cells.length).toBeGreaterThan(3000);
    expect(cells.every((x) => Number(x.toFixed(4)) === x)).toBe(true);
    // The still image has no point per datum on its lines (its legends keep their circles).
    expect(svg).toMatch(/class="mark-line role-mark"/);
    expect(svg).not.toMatch(/class="mark-symbol role-mark"/);
  });

  it('should send a live view only the buckets it has not settled', async () => {
    const since = payload.series.settled_until;
    expect(since).toBeGreaterThanOrEqual(HOUR_START + 59 * 60_000); // the hour's windows are stored
    await hour.serve(5000, 10); // a little more traffic in the open window
    const live = (await hour.output({ lastSeconds: 3600, since })).payload;
    expect(live.series.since).toBe(since);
    expect(live.series.ops.map((o) => o.t)).toEqual([since, since + 60_000].filter((t) => t < Date.parse(live.to)));
    expect(live.series.ops.at(-1)!.requests).toBeGreaterThanOrEqual(10);
    expect(live.series.performance.map((p) => p.t)).toEqual(payload.series.performance.map((p) => p.t)); // whole: late labels change any bucket
    expect(kb(JSON.stringify(live))).toBeLessThan(kb(JSON.stringify(payload)) / 2); // the spec, features, performance and alerts stay whole
    console.info(`a live refresh (since): ${kb(JSON.stringify(live)).toFixed(1)} KB of payload`);
  });

  it('should have every panel', async () => {
    expect(payload.panels).toEqual(['traffic', 'latency', 'drift', 'integrity', 'performance', 'alerts']);
    expect(payload.series.drift_features.length).toBe(30);
    expect(payload.series.features.length).toBe(30);
    expect(payload.series.ops.length).toBe(61);
    const json = JSON.stringify(payload);
    const parts: Record<string, number> = { payload: kb(json), svg: kb(svg), text: kb(monitorText(payload, status)) };
    for (const [key, value] of Object.entries(payload)) parts[`payload.${key}`] = kb(JSON.stringify(value));
    for (const [key, value] of Object.entries(payload.series)) parts[`payload.series.${key}`] = kb(JSON.stringify(value));
    if (process.env.NBDEPLOY_DUMP) (await import('node:fs')).writeFileSync(process.env.NBDEPLOY_DUMP, JSON.stringify({ payload, svg, text: monitorText(payload, status) }));
    console.info(Object.entries(parts).map(([k, v]) => `${k.padEnd(32)} ${v.toFixed(1).padStart(8)} KB`).join('\n'));
  });
});

/**
 * How big the monitor chart's output is: the 1 h payload of a 30-feature model with traffic,
 * drift, integrity violations, performance and alerts (monitored-hour.ts), as the notebook
 * output carries it — the JSON payload, the SVG fallback and the text summary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withData } from '../../src/monitoring/monitor-chart.js';
import { type MonitorPayload, monitorText } from '../../src/monitoring/monitor-payload.js';
import { renderSvg } from '../../src/monitoring/monitor-svg.js';
import { type MonitoredHour, monitoredHour } from './monitored-hour.js';

const kb = (text: string): number => Buffer.byteLength(text) / 1024;

let hour: MonitoredHour;
let payload: MonitorPayload;
let svg: string;

beforeAll(async () => {
  hour = await monitoredHour();
  payload = hour.payload(3600);
  svg = await renderSvg(withData(payload.spec, payload.series));
}, 120_000);

afterAll(() => hour?.close());

describe('the 1 h monitor output of a 30-feature model', () => {
  it('should have every panel', async () => {
    expect(payload.panels).toEqual(['traffic', 'latency', 'drift', 'integrity', 'performance', 'alerts']);
    expect(payload.series.drift_features.length).toBe(30);
    expect(payload.series.ops.length).toBe(61);
    const json = JSON.stringify(payload);
    const parts: Record<string, number> = { payload: kb(json), svg: kb(svg), text: kb(monitorText(payload)) };
    for (const [key, value] of Object.entries(payload)) parts[`payload.${key}`] = kb(JSON.stringify(value));
    for (const [key, value] of Object.entries(payload.series)) parts[`payload.series.${key}`] = kb(JSON.stringify(value));
    if (process.env.NBDEPLOY_DUMP) (await import('node:fs')).writeFileSync(process.env.NBDEPLOY_DUMP, JSON.stringify({ payload, svg }));
    console.info(Object.entries(parts).map(([k, v]) => `${k.padEnd(32)} ${v.toFixed(1).padStart(8)} KB`).join('\n'));
  });
});

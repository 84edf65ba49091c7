/**
 * `inspect` in a real `nbdeploy serve`: traffic with a known shift in one feature is captured,
 * and the triage of its window finds that feature (picked when none is named), with the
 * Kolmogorov–Smirnov statistic this test computes itself from the captured rows against the
 * profile's sample (test/support/ks.ts, in whole numbers); the other shifted features rank next, the window's
 * integrity events are listed, personal data shows only as hashes, and errors say what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../support/http.js';
import { columnModel } from '../support/models.js';
import { ksStatistic } from '../support/ks.js';
import { NotebookClient } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';

/** Inputs a, b, c (FP32 [N, 1]) and city (BYTES [N, 1]); outputs y = a + b, z = c, city_out = city. */
function model(): Buffer {
  return columnModel({
    name: 'inspect',
    inputs: { a: 'FP32', b: 'FP32', c: 'FP32', city: 'BYTES' },
    outputs: { y: 'FP32', z: 'FP32', city_out: 'BYTES' },
    nodes: [
      { opType: 'Add', input: ['a', 'b'], output: ['y'], name: 'sum' },
      { opType: 'Identity', input: ['c'], output: ['z'], name: 'c_id' },
      { opType: 'Identity', input: ['city'], output: ['city_out'], name: 'city_id' }
    ]
  });
}

const N = 200;
const range = (n: number) => Array.from({ length: n }, (_, k) => k);
const trainA = range(N).map((k) => 10 + ((k * 37) % 100) / 4);
const trainB = range(N).map((k) => ((k * 53) % 200) / 4);
const trainC = range(N).map((k) => (k * 7) % 50);
const trainCity = range(N).map((k) => (k % 2 ? 'lyon' : 'paris'));
const numeric = (sample: number[]) => ({ kind: 'numeric', count: N, null_rate: 0, min: Math.min(...sample), max: Math.max(...sample), sample });
const PROFILE = {
  rows: N,
  features: {
    a: numeric(trainA),
    b: numeric(trainB),
    c: numeric(trainC),
    city: { kind: 'categorical', count: N, null_rate: 0, categories: { lyon: 0.5, paris: 0.5 }, other_rate: 0, sample: trainCity }
  }
};

/** 160 served rows in 4 requests: a shifted far up, c a little (3 values far out of range), b and city as in training. */
const ROWS = 160;
const served = {
  a: range(ROWS).map((k) => 25 + ((k * 37) % 100) / 4),
  b: range(ROWS).map((k) => ((k * 53 + 11) % 200) / 4),
  c: range(ROWS).map((k) => (k < 3 ? 200 : ((k * 7) % 50) + 8)),
  city: range(ROWS).map((k) => (k % 2 ? 'paris' : 'lyon'))
};
/** The personal deployment's cities: a third of them new. */
const cities = range(ROWS).map((k) => ['lyon', 'paris', 'nice'][k % 3]!);

let service: ServiceProcess;
let ws: NotebookClient;
let rest: RestClient;
let before: string;

async function send(name: string, rows: number, city = served.city): Promise<void> {
  for (let i = 0; i < rows; i += 40) {
    const part = (values: unknown[]) => values.slice(i, i + 40);
    const res = await rest.infer(name, [
      { name: 'a', datatype: 'FP32', shape: [40, 1], data: part(served.a) },
      { name: 'b', datatype: 'FP32', shape: [40, 1], data: part(served.b) },
      { name: 'c', datatype: 'FP32', shape: [40, 1], data: part(served.c) },
      { name: 'city', datatype: 'BYTES', shape: [40, 1], data: part(city) }
    ]);
    expect(res.status, res.text).toBe(200);
  }
}

beforeAll(async () => {
  service = await startService();
  ws = await NotebookClient.connect(service);
  rest = new RestClient(service);
  before = new Date(Date.now() - 60_000).toISOString();
  const cards: Record<string, string[]> = { shifted: ['city'], private: ['a', 'city'], quiet: [] };
  for (const [name, personal] of Object.entries(cards)) {
    const v1 = await ws.register(name, model(), { profile: PROFILE, metadata: { nbdeploy: { card: { owner: 'tests', personal_data: personal } } } });
    await ws.promote(name, v1.version as number, { override: 'integration test' });
  }
  await ws.call({ type: 'set_capture', model: 'shifted', rate: 1 });
  await ws.call({ type: 'set_capture', model: 'private', rate: 1 });
  await send('shifted', ROWS);
  await send('private', ROWS, cities);
});

afterAll(async () => {
  await ws?.close();
  await cleanup();
});

const inspect = async (name: string, extra: Record<string, unknown> = {}) => (await ws.call({ type: 'inspect', model: name, ...extra })) as Record<string, any>;

describe('inspect', () => {
  it('should find the shifted feature when none is named, with the KS statistic of the captured rows against the profile sample', async () => {
    const r = await inspect('shifted', { fallbacks: true });
    const report = r.report;
    expect(report).toMatchObject({ model: 'shifted', version: 1, rows: ROWS, requests: 4, truncated: false, picked: true });
    expect(report.feature.name).toBe('a');
    expect(report.feature.kind).toBe('numeric');
    // The rows in the reply are the rows tested.
    const column = r.table.columns.indexOf('a');
    const captured = r.table.rows.map((row: unknown[]) => row[column] as number);
    expect(captured.length).toBe(ROWS);
    expect(report.feature.test.method).toBe('ks');
    expect(report.feature.test.statistic).toBe(ksStatistic(trainA, captured));
    expect(report.feature.test.p_value).toBeLessThan(1e-10);
    expect(report.feature.test.drifted).toBe(true);
    // The histogram on the profile's sample range (this profile has no histogram of its own): most captured values lie above it.
    expect(report.feature.histogram.source).toBe('sample');
    expect(report.feature.histogram.edges[0]).toBe(Math.min(...trainA));
    expect(report.feature.histogram.above).toBeGreaterThan(0.5);
    expect(report.feature.quantiles[0].shift).toBeGreaterThan(10);
    // c moved too (and its KS is the test's own), b did not move much: c ranks before b.
    const together = report.moved_together.map((m: { feature: string }) => m.feature);
    expect(together).toContain('c');
    expect(together.indexOf('c')).toBeLessThan(together.indexOf('b'));
    const c = report.moved_together.find((m: { feature: string }) => m.feature === 'c');
    expect(c.statistic).toBe(ksStatistic(trainC, r.table.rows.map((row: unknown[]) => row[r.table.columns.indexOf('c')] as number)));
    expect(c.drifted).toBe(true);
    // The integrity events of the window: the values of a and c outside the training range widened by a tenth of it.
    const outside = (sample: number[], values: number[]) => {
      const [lo, hi] = [Math.min(...sample), Math.max(...sample)];
      const margin = (hi - lo) * 0.1;
      return values.filter((v) => Math.fround(v) < lo - margin || Math.fround(v) > hi + margin).length;
    };
    const events = Object.fromEntries(report.integrity.features.map((f: { feature: string; counts: Record<string, number> }) => [f.feature, f.counts]));
    expect(events).toEqual({ a: { out_of_range: outside(trainA, served.a) }, c: { out_of_range: outside(trainC, served.c) } });
    expect(report.integrity.counts).toEqual({ out_of_range: outside(trainA, served.a) + outside(trainC, served.c) });
    expect(report.integrity.windows.length).toBeGreaterThan(0);
    expect(report.chart.spec.data).toEqual({ name: 'bins' });
    expect(report.chart.datasets.bins.length).toBeGreaterThan(0);
    expect(r.text).toContain('feature "a" (the most drifted)');
    expect(r.html).toContain('<svg');
  });

  it('should inspect a named feature: categories of hashes for personal data, never a clear value', async () => {
    const r = await inspect('private', { feature: 'city', table: false });
    expect(r.table).toBeUndefined();
    const f = r.report.feature;
    expect(f).toMatchObject({ name: 'city', kind: 'categorical', personal: true, new_categories: 1 });
    expect(f.test.method).toBe('chisquare');
    for (const c of f.categories) expect(c.category).toMatch(/^[0-9a-f]{32}$/);
    // Three categories, a third each, against lyon and paris half each: the new one moved most.
    expect(f.categories[0]).toMatchObject({ training: 0, change: f.categories[0].captured });
    // Not in the integrity events either (monitoring's detail names a new category).
    expect(r.report.integrity.features.find((x: { feature: string }) => x.feature === 'city')).toMatchObject({ counts: { new_category: cities.filter((c) => c === 'nice').length }, detail: 'personal data: the values are not shown' });
    const json = JSON.stringify(r.report);
    for (const city of ['lyon', 'paris', 'nice']) expect(json).not.toContain(city);
  });

  it('should refuse numeric statistics of personal data with a note', async () => {
    const r = await inspect('private', { feature: 'a' });
    expect(r.report.feature.personal).toBe(true);
    expect(r.report.feature.test).toBeNull();
    expect(r.report.feature.note).toContain('personal data');
    expect(r.report.feature.histogram).toBeUndefined();
    expect(r.report.chart).toBeNull();
    // The picked feature is one that can be tested.
    expect((await inspect('private')).report.feature.name).not.toBe('a');
  });

  it('should say what was wrong: the model, the feature, a span without captured rows', async () => {
    expect((await ws.request({ type: 'inspect', model: 'nobody' })).code).toBe('NBD_ERR_MODEL_NOT_FOUND');
    const feature = await ws.request({ type: 'inspect', model: 'shifted', feature: 'mean radius' });
    expect(feature.code).toBe('NBD_ERR_FEATURE_NOT_FOUND');
    expect(feature.error).toContain('its features: "a", "b", "c", "city"');
    const off = await ws.request({ type: 'inspect', model: 'quiet' });
    expect(off.code).toBe('NBD_ERR_NOTHING_CAPTURED');
    expect(off.error).toContain('capture is off');
    expect(off.error).toContain('nd.capture("quiet", rate=0.1)');
    const early = await ws.request({ type: 'inspect', model: 'shifted', from: before, to: new Date(Date.parse(before) + 1000).toISOString() });
    expect(early.code).toBe('NBD_ERR_NOTHING_CAPTURED');
    expect(early.error).toContain('keeps 100% of its requests');
    expect((await ws.request({ type: 'inspect', model: 'shifted', version: 9 })).code).toBe('NBD_ERR_VERSION_NOT_FOUND');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/registry/registry.js';
import { DEFAULT_RULES, measure, resolveThreshold, rule, rulesFrom } from '../../src/monitoring/alert-rules.js';
import { SqliteAlertStore } from '../../src/monitoring/alert-store.js';
import { AlertEngine } from '../../src/monitoring/alerts.js';
import type { AlertView, StatusView } from '../../src/monitoring/views.js';

interface Shape {
  requests?: number;
  errors?: number;
  p99?: number | null;
  driftShare?: number | null;
  rows?: number;
  accuracy?: number | null;
  labelled?: number;
  integrity?: Record<string, number>;
}

/** A status as the monitor gives it, with just what the rules read. */
function status(s: Shape): StatusView {
  const requests = s.requests ?? 0;
  const errors = s.errors ?? 0;
  const ops = {
    requests,
    errors,
    error_rate: requests > 0 ? errors / requests : null,
    errors_by_code: {},
    rows: s.rows ?? requests,
    throughput_per_s: 1,
    latency_ms: { p50: null, p95: null, p99: s.p99 ?? (requests > 0 ? 2 : null) }
  };
  const view: StatusView = {
    model: 'm',
    version: 1,
    window_seconds: 60,
    from: new Date(0).toISOString(),
    to: new Date(0).toISOString(),
    ops,
    drift: {},
    drift_share: s.driftShare ?? null,
    prediction_drift: null,
    performance: {
      accuracy: s.accuracy ?? null,
      precision: null,
      recall: null,
      f1: null,
      roc_auc: null,
      mae: null,
      rmse: null,
      labelled: s.labelled ?? 0,
      labelled_share: null
    },
    concept_drift: null,
    versions: [{ version: 1, role: 'production', ops, shadow_requests: 0 }]
  };
  if (s.integrity) (view as unknown as { integrity: Record<string, number> }).integrity = s.integrity;
  return view;
}

function fakeRegistry(validated: Record<string, unknown> | null): Registry {
  return {
    getModel: async (name: string) => (name === 'm' ? { name: 'm' } : undefined),
    latestValidation: async () => (validated ? { report: { metrics: validated } } : undefined)
  } as unknown as Registry;
}

describe('alert rules', () => {
  it('should complete a rule with the defaults and refuse bad ones, naming the problem', () => {
    expect(rule({ name: 'e', metric: 'error_rate', condition: '>', threshold: 0.1 })).toEqual({
      name: 'e',
      metric: 'error_rate',
      condition: '>',
      threshold: 0.1,
      window_seconds: null,
      severity: 'warning',
      cooldown_seconds: 300,
      min_count: 20,
      enabled: true
    });
    expect(() => rule({ name: 'e', metric: 'error_rate', condition: '>', threshold: 'validated' })).toThrow('not error_rate');
    expect(() => rule({ name: 'a', metric: 'accuracy', condition: '<', threshold: 'validated minus 1' })).toThrow('neither a number');
    expect(() => rule({ name: 'a', metric: 'error_rate', condition: '>', threshold: Number.NaN })).toThrow('finite');
    expect(() => rulesFrom([DEFAULT_RULES[0]!, DEFAULT_RULES[0]!])).toThrow('two rules are named "drift"');
  });

  it('should compute thresholds relative to the validation report', () => {
    const accuracy = rule({ name: 'a', metric: 'accuracy', condition: '<', threshold: 'validated - 0.05' });
    expect(resolveThreshold(accuracy, { accuracy: 0.9 })).toBeCloseTo(0.85, 12);
    expect(resolveThreshold(accuracy, {})).toBeNull();
    expect(resolveThreshold(accuracy, null)).toBeNull();
    expect(resolveThreshold(rule({ name: 'r', metric: 'rmse', condition: '>', threshold: 'validated * 1.5' }), { rmse: 2 })).toBe(3);
    expect(resolveThreshold(rule({ name: 'r', metric: 'rmse', condition: '>', threshold: 'validated' }), { rmse: 2 })).toBe(2);
  });

  it('should read integrity only where the status carries it', () => {
    expect(measure('integrity_share', status({ requests: 100 }))).toBeUndefined();
    expect(measure('integrity_share', status({ requests: 100, integrity: { missing: 3, out_of_range: 7 } }))).toEqual({ value: 0.1, count: 100 });
    expect(measure('error_rate', status({ requests: 40, errors: 4 }))).toEqual({ value: 0.1, count: 40 });
    expect(measure('accuracy', status({ accuracy: 0.8, labelled: 150 }))).toEqual({ value: 0.8, count: 150 });
  });
});

describe('AlertEngine', () => {
  let clock: number;
  let current: StatusView;
  let store: SqliteAlertStore;
  let told: AlertView[];
  let validated: Record<string, unknown> | null;
  let asked: Array<{ seconds: number; drift: boolean | undefined }>;

  /** A new engine on the store; the one before stops (a restart: it gives the lead up). */
  let last: AlertEngine | null = null;
  const engine = (slowRulesEveryMs = 0, replica?: string): AlertEngine => {
    last?.stop();
    const source = (_model: string, seconds: number, options: { drift?: boolean }): StatusView => {
      asked.push({ seconds, drift: options.drift });
      return current;
    };
    const e = new AlertEngine(fakeRegistry(validated), store, source, { monitorWindowSeconds: 60, now: () => clock, slowRulesEveryMs, ...(replica ? { replica } : {}) });
    e.onAlert((a) => {
      told.push(a);
    });
    last = e;
    return e;
  };

  beforeEach(() => {
    last = null;
    clock = 1_000_000;
    store = new SqliteAlertStore(':memory:');
    told = [];
    validated = null;
    asked = [];
  });
  afterEach(() => store.close());

  it('should fire once when a default rule breaks, and resolve when the metric is back', async () => {
    const e = engine();
    current = status({ requests: 100, errors: 2 });
    expect(await e.evaluate(['m'])).toEqual([]);
    current = status({ requests: 100, errors: 10 });
    const [fired] = await e.evaluate(['m']);
    expect(fired).toMatchObject({ model: 'm', version: 1, rule: 'error_rate', metric: 'error_rate', severity: 'critical', state: 'firing', value: 0.1, threshold: 0.05, window_seconds: 300 });
    expect(fired!.message).toBe('error rate of "m" version 1 is 0.1, > 0.05, over the last 300 s');
    clock += 1000;
    expect(await e.evaluate(['m'])).toEqual([]); // still firing: no second alert
    current = status({ requests: 100, errors: 1 });
    clock += 1000;
    const [resolved] = await e.evaluate([]); // a firing model is evaluated even without new traffic
    expect(resolved).toMatchObject({ id: fired!.id, state: 'resolved', resolved_value: 0.01, resolved_at: new Date(clock).toISOString() });
    expect(told.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(await e.alerts({ model: 'm' })).toEqual([resolved]);
  });

  it('should not fire below the minimum count, and resolve when the span has no data', async () => {
    const e = engine();
    current = status({ requests: 10, errors: 10 });
    expect(await e.evaluate(['m'])).toEqual([]); // 10 requests < 20
    current = status({ requests: 20, errors: 10 });
    expect(await e.evaluate(['m'])).toHaveLength(1);
    current = status({ requests: 5, errors: 5 });
    expect(await e.evaluate(['m'])).toEqual([]); // too few to tell: the state stays
    current = status({});
    expect(await e.evaluate(['m'])).toEqual([expect.objectContaining({ state: 'resolved', resolved_value: null })]);
    expect(told.at(-1)!.message).toContain('no data over the last 300 s');
  });

  it('should stay quiet for the cool-down after an alert resolves', async () => {
    const e = engine();
    await e.setRules('m', [{ name: 'p99', metric: 'latency_p99_ms', condition: '>', threshold: 100, cooldown_seconds: 60, min_count: 1 }]);
    const slow = status({ requests: 50, p99: 250 });
    const fast = status({ requests: 50, p99: 20 });
    current = slow;
    expect(await e.evaluate(['m'])).toHaveLength(1);
    current = fast;
    clock += 5_000;
    expect(await e.evaluate(['m'])).toEqual([expect.objectContaining({ state: 'resolved' })]);
    current = slow;
    clock += 59_000;
    expect(await e.evaluate(['m'])).toEqual([]); // 59 s after resolving: within the cool-down
    clock += 1_000;
    expect(await e.evaluate(['m'])).toEqual([expect.objectContaining({ state: 'firing', rule: 'p99', value: 250 })]);
    // The cool-down holds across a restart too (read from the stored history).
    current = fast;
    clock += 1_000;
    await e.evaluate(['m']);
    current = slow;
    clock += 30_000;
    expect(await engine().evaluate(['m'])).toEqual([]);
  });

  it('should compare accuracy with the validated accuracy, only with enough ground truth', async () => {
    current = status({ requests: 500, accuracy: 0.8, labelled: 300 });
    expect(await engine().evaluate(['m'])).toEqual([]); // no validation report: nothing to compare with
    validated = { accuracy: 0.9 };
    const e = engine();
    current = status({ requests: 500, accuracy: 0.8, labelled: 99 });
    expect(await e.evaluate(['m'])).toEqual([]);
    current = status({ requests: 500, accuracy: 0.86, labelled: 300 });
    expect(await e.evaluate(['m'])).toEqual([]);
    current = status({ requests: 500, accuracy: 0.8, labelled: 300 });
    const [fired] = await e.evaluate(['m']);
    expect(fired).toMatchObject({ rule: 'accuracy', severity: 'critical', value: 0.8, condition: '<' });
    expect(fired!.threshold).toBeCloseTo(0.85, 12);
    expect(fired!.message).toContain('(validated - 0.05)');
  });

  it('should fire on drift share and on integrity violations when the status has them', async () => {
    const e = engine();
    current = status({ requests: 200, driftShare: 0.75 });
    expect((await e.evaluate(['m'])).map((a) => a.rule)).toEqual(['drift']);
    current = status({ requests: 200, driftShare: 0.75, integrity: { missing: 30 } });
    expect((await e.evaluate(['m'])).map((a) => a.rule)).toEqual(['integrity']);
  });

  it('should resolve the alerts of a rule that is removed, and keep firing alerts across a restart', async () => {
    let e = engine();
    current = status({ requests: 100, errors: 50 });
    await e.evaluate(['m']);
    e = engine(); // a restart: the firing alert is read back, so it does not fire again
    expect(await e.evaluate(['m'])).toEqual([]);
    expect(e.firingModels).toEqual(new Set(['m']));
    const after = await e.setRules('m', [{ name: 'drift', metric: 'drift_share', condition: '>', threshold: 0.9 }]);
    expect(after.custom).toBe(true);
    expect(told.at(-1)).toMatchObject({ rule: 'error_rate', state: 'resolved' });
    expect(told.at(-1)!.message).toContain('its rule was removed or disabled');
    expect(await e.setRules('m', null)).toEqual({ rules: DEFAULT_RULES.map((r) => ({ ...r })), custom: false });
  });

  it('should evaluate rules on operations every time, and the costly ones at most every 10 s', async () => {
    const e = engine(10_000);
    current = status({ requests: 200, driftShare: 0.1 });
    await e.evaluate(['m']);
    // One status without drift tests for the ops rules, one with them for the others (same 300 s span).
    expect(asked).toEqual([
      { seconds: 300, drift: true },
      { seconds: 300, drift: false }
    ]);
    asked = [];
    current = status({ requests: 200, driftShare: 0.9, errors: 100 });
    clock += 1000;
    expect((await e.evaluate(['m'])).map((a) => a.rule)).toEqual(['error_rate']);
    expect(asked).toEqual([{ seconds: 300, drift: false }]);
    clock += 9000;
    expect((await e.evaluate(['m'])).map((a) => a.rule)).toEqual(['drift']);
  });

  it('should evaluate the rules on one replica of a service, and hand over when it stops or goes silent', async () => {
    const source = (): StatusView => current;
    const replica = (name: string): { engine: AlertEngine; told: AlertView[]; elsewhere: AlertView[] } => {
      const engine = new AlertEngine(fakeRegistry(null), store, source, { monitorWindowSeconds: 60, now: () => clock, slowRulesEveryMs: 0, replica: name });
      const r = { engine, told: [] as AlertView[], elsewhere: [] as AlertView[] };
      engine.onAlert((a) => r.told.push(a));
      engine.onAlertElsewhere((a) => r.elsewhere.push(a));
      return r;
    };
    const a = replica('a');
    const b = replica('b');
    current = status({ requests: 100, errors: 50 });
    await a.engine.evaluate(['m']);
    await b.engine.evaluate(['m']);
    expect([a.engine.leading, b.engine.leading]).toEqual([true, false]);
    expect(a.told.map((x) => x.state)).toEqual(['firing']);
    expect(b.told).toEqual([]);
    // The follower hears of the leader's alert (for its own subscribers), once.
    expect(b.elsewhere.map((x) => x.state)).toEqual(['firing']);
    await b.engine.evaluate(['m']);
    expect(b.elsewhere).toHaveLength(1);
    expect(b.engine.firingModels).toEqual(new Set(['m']));

    // The leader goes silent (its process died): after the lead's time-to-live the other takes over, and resolves.
    clock += 5_001;
    current = status({ requests: 100, errors: 0 });
    await b.engine.evaluate(['m']);
    expect(b.engine.leading).toBe(true);
    expect(b.told.map((x) => x.state)).toEqual(['resolved']);
    await a.engine.evaluate(['m']);
    expect(a.engine.leading).toBe(false);
    expect(a.told.map((x) => x.state)).toEqual(['firing']);

    // A leader that stops gives the lead up at once.
    b.engine.stop();
    await a.engine.evaluate(['m']);
    expect(a.engine.leading).toBe(true);
    a.engine.stop();
  });

  it('should ignore models that are not registered', async () => {
    current = status({ requests: 100, errors: 100 });
    expect(await engine().evaluate(['gone'])).toEqual([]);
  });
});

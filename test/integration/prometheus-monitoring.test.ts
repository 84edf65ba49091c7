/**
 * Monitoring in Prometheus (docs/monitoring.md, "In Prometheus"): a real service with a
 * profiled iris model, traffic far from its training data, ground truth and an alert rule;
 * /metrics then carries the drift share, each feature's drift statistic, performance from
 * ground truth, the integrity violations counted and the alert firing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient, metricValue } from '../support/http.js';
import { IRIS_FEATURES, gaussian, irisProfile, irisRows } from '../support/iris-traffic.js';
import { IRIS_METADATA, fixture, fp32 } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';

let service: ServiceProcess;
let ws: NotebookClient;
let rest: RestClient;

beforeAll(async () => {
  service = await startService({ args: ['--monitor-window-seconds', '1'] });
  ws = await NotebookClient.connect(service);
  rest = new RestClient(service);
  // The training profile with each feature's range, which integrity's out_of_range reads.
  const profile = irisProfile() as { features: Record<string, { sample: number[]; min?: number; max?: number }> };
  for (const f of Object.values(profile.features)) Object.assign(f, { min: Math.min(...f.sample), max: Math.max(...f.sample) });
  const registered = await ws.register('iris', fixture('iris_classifier.onnx'), { profile, metadata: IRIS_METADATA });
  await ws.promote('iris', registered.version);
});

afterAll(async () => {
  await ws?.close();
  await cleanup();
});

/** /metrics, polled until `ready` holds (monitoring settles within a window or two). */
async function metricsWhen(ready: (text: string) => boolean): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const text = await rest.metrics();
    if (ready(text) || attempt > 100) return text;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('monitoring in Prometheus', () => {
  it('should show drift, performance, integrity violations and firing alerts by model and version', async () => {
    await ws.call({
      type: 'set_alert_rules',
      model: 'iris',
      rules: [{ name: 'inputs_moved', metric: 'drift_share', condition: '>', threshold: 0.5, window_seconds: 60, severity: 'critical', min_count: 1 }]
    });
    const before = await rest.metrics();
    expect(metricValue(before, 'nbdeploy_alerts_firing', { model: 'iris' })).toBe(0);

    // Every feature ten standard deviations away from its training values: drifted, and
    // outside the training range (integrity's out_of_range).
    const g = gaussian(11);
    const ids: string[] = [];
    const predicted: number[] = [];
    for (let r = 0; r < 10; r++) {
      const reply = await ws.call({ type: 'infer', model: 'iris', request_id: `far-${r}`, inputs: [fp32('input', irisRows(20, g, [8, 4, 17, 7.5]))] });
      const labels = reply.outputs.find((o: { name: string }) => o.name === 'label').data as number[];
      labels.forEach((label, i) => {
        ids.push(`far-${r}#${i}`);
        predicted.push(label);
      });
    }
    // Ground truth agreeing with every prediction: accuracy 1.
    await ws.call({ type: 'feedback', model: 'iris', request_ids: ids, ground_truth: predicted });

    const labels = { model: 'iris', version: '1' };
    const text = await metricsWhen((t) => metricValue(t, 'nbdeploy_alerts_firing', { model: 'iris', rule: 'inputs_moved' }) === 1);
    expect(metricValue(text, 'nbdeploy_drift_share', labels)).toBe(1);
    for (const feature of IRIS_FEATURES) {
      expect(text).toMatch(new RegExp(`nbdeploy_feature_drift\\{model="iris",version="1",feature="${feature}",method="ks"\\} 1\\b`));
    }
    expect(metricValue(text, 'nbdeploy_performance', { ...labels, metric: 'accuracy' })).toBe(1);
    expect(metricValue(text, 'nbdeploy_integrity_violations_total', { ...labels, kind: 'out_of_range' })).toBeGreaterThan(0);
    expect(metricValue(text, 'nbdeploy_alerts_firing', { model: 'iris', rule: 'inputs_moved', severity: 'critical' })).toBe(1);
    expect(text).toContain('# TYPE nbdeploy_integrity_violations_total counter');
    expect(text).toContain('# TYPE nbdeploy_drift_share gauge');
  });
});

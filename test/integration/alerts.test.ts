/**
 * Alerts in a real `nbdeploy serve --alert-webhook URL` with one-second monitoring windows:
 * bad requests make the error-rate rule fire; subscribers get the `alert` event, the audit
 * log records it, the service-wide and the deployment's webhooks receive Slack-compatible
 * JSON (a webhook that fails twice is retried), and the alert resolves once traffic is
 * normal again. Also the live `window` stream, the rules API, and `--no-monitoring`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IRIS_METADATA, fixture, fp32 } from '../support/models.js';
import { NotebookClient, type Reply } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const IRIS = fixture('iris_classifier.onnx');
const ROW = [5.1, 3.5, 1.4, 0.2];

const hooks = new WebhookReceiver(2);
let hookBase: string;
let service: ServiceProcess;
let ws: NotebookClient;
let watcher: NotebookClient;

beforeAll(async () => {
  hookBase = await hooks.start();
  service = await startService({ args: ['--monitor-window-seconds', '1', '--alert-webhook', `${hookBase}/hook`] });
  ws = await NotebookClient.connect(service);
  const registered = await ws.register('iris', IRIS, { metadata: IRIS_METADATA });
  await ws.promote('iris', registered.version);
  watcher = await NotebookClient.connect(service);
  await watcher.call({ type: 'subscribe', model: 'iris' });
});

afterAll(async () => {
  await watcher?.close();
  await ws?.close();
  await cleanup();
  await hooks.stop();
});

const good = (n: number) => Promise.all(Array.from({ length: n }, () => ws.call({ type: 'infer', model: 'iris', inputs: [fp32('input', [ROW])] })));
const bad = (n: number) => Promise.all(Array.from({ length: n }, () => ws.request({ type: 'infer', model: 'iris', inputs: [fp32('input', [[1, 2, 3]])] })));
const isAlert = (state: string) => (m: Reply) => m.type === 'event' && m.kind === 'alert' && m.data.state === state;

describe('alert rules', () => {
  it('should list the default rules until the deployment has its own', async () => {
    const reply = await ws.call({ type: 'get_alert_rules', model: 'iris' });
    expect(reply).toMatchObject({ type: 'alert_rules', model: 'iris', custom: false, webhooks: [], service_webhooks: 1 });
    expect(reply.rules.map((r: Reply) => [r.name, r.metric, r.condition, r.threshold])).toEqual([
      ['drift', 'drift_share', '>', 0.5],
      ['accuracy', 'accuracy', '<', 'validated - 0.05'],
      ['error_rate', 'error_rate', '>', 0.05],
      ['latency_p99', 'latency_p99_ms', '>', 500],
      ['integrity', 'integrity_share', '>', 0.05]
    ]);
    for (const r of reply.rules) expect(r).toMatchObject({ window_seconds: null, cooldown_seconds: 300, enabled: true });
  });

  it('should refuse bad rules and webhooks, naming what is wrong', async () => {
    const twice = await ws.request({
      type: 'set_alert_rules',
      model: 'iris',
      rules: [
        { name: 'x', metric: 'error_rate', condition: '>', threshold: 0.1 },
        { name: 'x', metric: 'drift_share', condition: '>', threshold: 0.1 }
      ]
    });
    expect(twice).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_REQUEST' });
    expect(twice.error).toContain('two rules are named "x"');
    const relative = await ws.request({ type: 'set_alert_rules', model: 'iris', rules: [{ name: 'e', metric: 'error_rate', condition: '>', threshold: 'validated + 1' }] });
    expect(relative).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_REQUEST' });
    expect(relative.error).toContain('not error_rate');
    const metric = await ws.request({ type: 'set_alert_rules', model: 'iris', rules: [{ name: 'e', metric: 'loss', condition: '>', threshold: 1 }] });
    expect(metric).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
    expect(metric.error).toContain('metric');
    const url = await ws.request({ type: 'set_alert_webhooks', model: 'iris', webhooks: ['ftp://example.com/x'] });
    expect(url).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
    expect(url.error).toContain('http:// or https:// URL');
    expect(await ws.request({ type: 'get_alert_rules', model: 'nope' })).toMatchObject({ type: 'error', code: 'NBD_ERR_MODEL_NOT_FOUND' });
  });

  it('should keep the deployment rules and webhooks it is given, and audit the change', async () => {
    const set = await ws.call({
      type: 'set_alert_rules',
      model: 'iris',
      rules: [{ name: 'errors', metric: 'error_rate', condition: '>', threshold: 0.2, window_seconds: 2, min_count: 5, cooldown_seconds: 1, severity: 'critical' }]
    });
    expect(set).toMatchObject({ custom: true, rules: [{ name: 'errors', window_seconds: 2, min_count: 5, cooldown_seconds: 1, severity: 'critical', enabled: true }] });
    const hooked = await ws.call({ type: 'set_alert_webhooks', model: 'iris', webhooks: [`${hookBase}/deployment-hook`] });
    expect(hooked.webhooks).toEqual([`${hookBase}/deployment-hook`]);
    const audit = await ws.call({ type: 'audit', model: 'iris', limit: 2 });
    expect(audit.entries.map((e: Reply) => e.action)).toEqual(['alert_webhooks', 'alert_rules']);
    expect(JSON.stringify(audit.entries[0].details)).not.toContain('deployment-hook'); // paths may be secrets
  });
});

describe('an alert', () => {
  let fired: Reply;

  it('should stream the open window to subscribers', async () => {
    await good(10);
    const event = await watcher.nextUnsolicited((m) => m.type === 'event' && m.kind === 'window' && m.data.ops.requests >= 10);
    expect(event.model).toBe('iris');
    expect(event.data).toMatchObject({ window_seconds: 1, versions: [{ version: 1, shadow_requests: 0 }] });
    expect(event.data.ops.latency_ms.p99).toBeGreaterThan(0);
    expect(Date.parse(event.data.window_start)).toBeLessThanOrEqual(Date.parse(event.data.at));
  });

  it('should fire on bad requests and reach subscribers, the audit log, status and the list', async () => {
    await good(5);
    await bad(20);
    fired = await watcher.nextUnsolicited(isAlert('firing'), 15_000);
    expect(fired.model).toBe('iris');
    expect(fired.data).toMatchObject({ model: 'iris', version: 1, rule: 'errors', metric: 'error_rate', severity: 'critical', condition: '>', threshold: 0.2, window_seconds: 2, resolved_at: null });
    expect(fired.data.value).toBeGreaterThan(0.2);
    expect(fired.data.message).toContain('error rate');

    const listed = await ws.call({ type: 'list_alerts', model: 'iris', state: 'firing' });
    expect(listed.alerts).toEqual([fired.data]);
    const status = await ws.call({ type: 'status', model: 'iris', last_seconds: 60 });
    expect(status.alerts).toEqual([expect.objectContaining({ id: fired.data.id, state: 'firing' })]);
    const audit = await ws.call({ type: 'audit', model: 'iris', limit: 20 });
    const entry = audit.entries.find((e: Reply) => e.action === 'alert_fired');
    expect(entry).toMatchObject({ actor: 'nbdeploy', version: 1, details: { id: fired.data.id, rule: 'errors', state: 'firing' } });
  });

  it('should resolve once traffic is normal again', async () => {
    let resolved: Reply | null = null;
    const waiting = watcher.nextUnsolicited(isAlert('resolved'), 20_000).then((m) => (resolved = m));
    while (!resolved) {
      await good(10);
      await Promise.race([waiting, new Promise((r) => setTimeout(r, 100))]);
    }
    const r = resolved as Reply;
    expect(r.data).toMatchObject({ id: fired.data.id, state: 'resolved', fired_at: fired.data.fired_at });
    expect(r.data.resolved_value).toBeLessThanOrEqual(0.2);
    expect(r.data.message).toContain('resolved');
    expect(Date.parse(r.data.resolved_at)).toBeGreaterThan(Date.parse(r.data.fired_at));
    const audit = await ws.call({ type: 'audit', model: 'iris', limit: 50 });
    expect(audit.entries.find((e: Reply) => e.action === 'alert_resolved')).toMatchObject({ details: { id: fired.data.id, state: 'resolved' } });
    const status = await ws.call({ type: 'status', model: 'iris', last_seconds: 60 });
    expect(status.alerts).toEqual([expect.objectContaining({ id: fired.data.id, state: 'resolved' })]);
  });

  it('should reach both webhooks as Slack-compatible JSON, retrying the one that fails', async () => {
    // The service-wide webhook answers 500 twice: the third attempt, after 1 s and 2 s of back-off, gets through.
    await hooks.waitFor((posts) => posts.filter((p) => p.path === '/hook' && p.body.alert.id === fired.data.id && p.body.alert.state === 'firing').length >= 3);
    const attempts = hooks.received.filter((p) => p.path === '/hook' && p.body.alert.id === fired.data.id && p.body.alert.state === 'firing');
    expect(attempts.map((p) => p.status)).toEqual([500, 500, 200]);
    expect(attempts[2]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(2500);
    for (const path of ['/hook', '/deployment-hook']) {
      await hooks.waitFor((posts) => posts.some((p) => p.path === path && p.status === 200 && p.body.alert.state === 'resolved'));
      const firing = hooks.received.find((p) => p.path === path && p.status === 200 && p.body.alert.state === 'firing')!.body;
      expect(firing.text).toContain('FIRING');
      expect(firing.text).toContain('iris');
      expect(firing.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
      expect(firing.alert).toEqual(fired.data);
      const resolved = hooks.received.find((p) => p.path === path && p.body.alert.state === 'resolved')!.body;
      expect(resolved.text).toContain('RESOLVED');
      expect(resolved.alert).toMatchObject({ id: fired.data.id, state: 'resolved' });
    }
    // Each delivery once, apart from the retries.
    expect(hooks.received.filter((p) => p.path === '/deployment-hook')).toHaveLength(2);
  });

  it('should go back to the default rules', async () => {
    const reply = await ws.call({ type: 'set_alert_rules', model: 'iris', rules: null });
    expect(reply.custom).toBe(false);
    expect(reply.rules).toHaveLength(5);
  });
});

describe('--no-monitoring', () => {
  it('should serve without status, alerts or the window stream', async () => {
    const off = await startService({ args: ['--no-monitoring'] });
    const client = await NotebookClient.connect(off);
    try {
      await client.register('iris', IRIS);
      await client.call({ type: 'infer', model: 'iris', inputs: [fp32('input', [ROW])] });
      expect(await client.request({ type: 'status', model: 'iris' })).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_REQUEST' });
      expect(await client.request({ type: 'get_alert_rules', model: 'iris' })).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_REQUEST' });
    } finally {
      await client.close();
      await off.stop();
    }
  });

  it('should refuse a webhook that is not an http(s) URL at start', async () => {
    await expect(startService({ args: ['--alert-webhook', 'not a url'] })).rejects.toThrow('--alert-webhook "not a url" must be an http:// or https:// URL');
  });
});

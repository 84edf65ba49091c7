import { describe, expect, it } from 'vitest';
import type { AlertView } from '../../src/monitoring/views.js';
import { WebhookSender, redact, slackPayload } from '../../src/monitoring/webhooks.js';

const ALERT: AlertView = {
  id: 7,
  model: 'churn',
  version: 3,
  rule: 'error_rate',
  metric: 'error_rate',
  severity: 'critical',
  state: 'firing',
  condition: '>',
  value: 0.12,
  threshold: 0.05,
  window_seconds: 300,
  fired_at: '2026-01-01T10:00:00.000Z',
  resolved_at: null,
  resolved_value: null,
  message: 'error rate of "churn" version 3 is 0.12, > 0.05, over the last 300 s'
};

/** A fetch that answers with the given statuses in turn (a thrown Error for 0), recording the calls. */
function scriptedFetch(statuses: number[]) {
  const calls: Array<{ url: string; body: string; at: number }> = [];
  const fn = (async (url: string, init: RequestInit) => {
    calls.push({ url, body: String(init.body), at: Date.now() });
    const status = statuses.shift() ?? 200;
    if (status === 0) throw new Error('connect ECONNREFUSED');
    return new Response('x', { status });
  }) as unknown as typeof fetch;
  return { calls, fn };
}

const until = async (done: () => boolean): Promise<void> => {
  const end = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('slackPayload', () => {
  it('should carry text and blocks for Slack, and the alert for other receivers', () => {
    const p = slackPayload(ALERT) as { text: string; blocks: Array<{ type: string; text?: { text: string } }>; alert: AlertView };
    expect(p.text).toBe(':rotating_light: FIRING [critical] churn v3: error_rate — error rate of "churn" version 3 is 0.12, > 0.05, over the last 300 s');
    expect(p.blocks.map((b) => b.type)).toEqual(['section', 'context']);
    expect(p.blocks[0]!.text!.text).toContain('&gt; 0.05'); // mrkdwn escapes
    expect(p.alert).toEqual(ALERT);
    const resolved = slackPayload({ ...ALERT, state: 'resolved', resolved_at: '2026-01-01T10:05:00.000Z' }) as { text: string };
    expect(resolved.text.startsWith(':white_check_mark: RESOLVED')).toBe(true);
  });

  it('should keep webhook paths out of logs', () => {
    expect(redact('https://hooks.slack.com/services/T000/B000/secret')).toBe('https://hooks.slack.com/…');
  });
});

describe('WebhookSender', () => {
  it('should retry network errors and 5xx with a growing back-off, then deliver', async () => {
    const { calls, fn } = scriptedFetch([0, 503, 200]);
    const logs: string[] = [];
    const sender = new WebhookSender({ fetch: fn, baseDelayMs: 20, log: (m) => logs.push(m) });
    expect(sender.send(['http://hook.example/a'], ALERT)).toBe(1);
    await until(() => sender.delivered === 1);
    expect(calls).toHaveLength(3);
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(calls[1]!.at - calls[0]!.at);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(19);
    expect(JSON.parse(calls[0]!.body).alert.id).toBe(7);
    expect(sender.pending).toBe(0);
    expect(logs).toEqual([]);
  });

  it('should give up after the last attempt, and not retry a 4xx, logging both', async () => {
    const { calls, fn } = scriptedFetch([500, 500, 500, 404]);
    const logs: string[] = [];
    const sender = new WebhookSender({ fetch: fn, baseDelayMs: 1, maxAttempts: 3, log: (m) => logs.push(m) });
    sender.send(['http://hook.example/a'], ALERT);
    await until(() => sender.failed === 1);
    sender.send(['http://hook.example/b'], ALERT);
    await until(() => sender.failed === 2);
    expect(calls).toHaveLength(4);
    expect(logs[0]).toBe('alert 7 could not be sent to webhook http://hook.example/…: HTTP 500 after 3 attempts');
    expect(logs[1]).toBe('alert 7 could not be sent to webhook http://hook.example/…: HTTP 404 (not retried)');
  });

  it('should hold a bounded number of deliveries and count what it drops', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const fn = (async () => {
      await blocked;
      return new Response('ok', { status: 200 });
    }) as unknown as typeof fetch;
    const logs: string[] = [];
    const sender = new WebhookSender({ fetch: fn, maxQueue: 3, concurrency: 1, log: (m) => logs.push(m) });
    expect(sender.send(['http://a.example/1', 'http://a.example/2'], ALERT)).toBe(2);
    expect(sender.send(['http://a.example/3', 'http://a.example/4'], ALERT)).toBe(1);
    expect(sender.dropped).toBe(1);
    expect(logs[0]).toContain('3 deliveries are already queued');
    release();
    await until(() => sender.delivered === 3);
    expect(sender.pending).toBe(0);
    sender.close();
    expect(sender.send(['http://a.example/5'], ALERT)).toBe(0);
  });
});

/**
 * Alert webhooks: each alert that fires or resolves is POSTed as Slack-compatible JSON
 * (`text` and `blocks`, which Slack's incoming webhooks show, plus the alert itself under
 * `alert` for other receivers) to every webhook that applies. Deliveries run in the
 * background with a bounded queue, a timeout per attempt, and retries with exponential
 * back-off on network errors, 429 and 5xx; nothing here waits on inference or makes it wait.
 * What cannot be delivered is logged and counted, never dropped silently.
 */
import type { AlertView } from './views.js';

export interface WebhookOptions {
  /** Deliveries queued, waiting for a retry or in flight, at most; past it new ones are dropped (counted, logged). */
  maxQueue: number;
  /** Attempts per delivery, the first included. */
  maxAttempts: number;
  /** Wait before the first retry; doubled for each next one (ms). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** One attempt's time limit (ms). */
  timeoutMs: number;
  /** Deliveries in flight at once. */
  concurrency: number;
  log: (message: string) => void;
  fetch: typeof fetch;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = {
  maxQueue: 1000,
  maxAttempts: 6,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  timeoutMs: 10_000,
  concurrency: 4,
  log: (message) => console.error(`[nbdeploy] ${message}`),
  fetch: (...args) => fetch(...args)
};

interface Delivery {
  url: string;
  body: string;
  attempt: number;
  alertId: number;
}

export class WebhookSender {
  readonly options: WebhookOptions;
  /** Deliveries that got a 2xx answer. */
  delivered = 0;
  /** Deliveries given up after their last attempt, or refused with a 4xx other than 429. */
  failed = 0;
  /** Deliveries not queued because the queue was full. */
  dropped = 0;

  constructor(options: Partial<WebhookOptions> = {}) {
    this.options = { ...DEFAULT_WEBHOOK_OPTIONS, ...options };
  }

  /** Queues the alert for each URL; returns how many were queued. */
  send(urls: readonly string[], alert: AlertView): number {
    if (this._closed || urls.length === 0) return 0;
    const body = JSON.stringify(slackPayload(alert));
    let queued = 0;
    for (const url of urls) {
      if (this._owned >= this.options.maxQueue) {
        this.dropped++;
        this.options.log(`alert ${alert.id} not sent to webhook ${redact(url)}: ${this._owned} deliveries are already queued (the limit)`);
        continue;
      }
      this._owned++;
      this._ready.push({ url, body, attempt: 0, alertId: alert.id });
      queued++;
    }
    this._pump();
    return queued;
  }

  /** Deliveries not finished (queued, waiting for a retry, or in flight). */
  get pending(): number {
    return this._owned;
  }

  /** Stops: nothing more is sent; what is still queued is logged as abandoned. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    for (const t of this._timers) clearTimeout(t);
    this._timers.clear();
    const abandoned = this._owned - this._inflight;
    if (abandoned > 0) this.options.log(`${abandoned} webhook deliveries abandoned at shutdown`);
    this._ready.length = 0;
  }

  private _pump(): void {
    while (!this._closed && this._inflight < this.options.concurrency && this._ready.length > 0) {
      const d = this._ready.shift()!;
      this._inflight++;
      void this._attempt(d).finally(() => {
        this._inflight--;
        this._pump();
      });
    }
  }

  private async _attempt(d: Delivery): Promise<void> {
    d.attempt++;
    let retryAfterMs: number | null = null;
    let reason: string;
    try {
      const res = await this.options.fetch(d.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'nbdeploy-alerts' },
        body: d.body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'error'
      });
      // The body is not needed; reading it frees the connection.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        this.delivered++;
        this._owned--;
        return;
      }
      reason = `HTTP ${res.status}`;
      if (res.status !== 429 && res.status < 500) {
        this._giveUp(d, `${reason} (not retried)`);
        return;
      }
      const after = Number(res.headers.get('retry-after'));
      if (Number.isFinite(after) && after >= 0) retryAfterMs = after * 1000;
    } catch (error) {
      reason = (error as Error).name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : (error as Error).message;
    }
    if (d.attempt >= this.options.maxAttempts || this._closed) {
      this._giveUp(d, `${reason} after ${d.attempt} attempts`);
      return;
    }
    const backoff = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (d.attempt - 1));
    const delay = Math.min(this.options.maxDelayMs, Math.max(backoff, retryAfterMs ?? 0));
    const timer = setTimeout(() => {
      this._timers.delete(timer);
      this._ready.push(d);
      this._pump();
    }, delay);
    timer.unref();
    this._timers.add(timer);
  }

  private _giveUp(d: Delivery, reason: string): void {
    this.failed++;
    this._owned--;
    this.options.log(`alert ${d.alertId} could not be sent to webhook ${redact(d.url)}: ${reason}`);
  }

  private readonly _ready: Delivery[] = [];
  private readonly _timers = new Set<NodeJS.Timeout>();
  private _owned = 0;
  private _inflight = 0;
  private _closed = false;
}

/** The JSON a webhook receives: Slack's `text` and `blocks`, and the alert under `alert`. */
export function slackPayload(alert: AlertView): Record<string, unknown> {
  const firing = alert.state === 'firing';
  const head = `${firing ? ':rotating_light: FIRING' : ':white_check_mark: RESOLVED'} [${alert.severity}] ${alert.model}${alert.version === null ? '' : ` v${alert.version}`}: ${alert.rule}`;
  const when = firing ? `fired ${alert.fired_at}` : `fired ${alert.fired_at}, resolved ${alert.resolved_at}`;
  return {
    text: `${head} — ${alert.message}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${escapeMrkdwn(head)}*\n${escapeMrkdwn(alert.message)}` } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: escapeMrkdwn(`alert #${alert.id} · ${alert.metric} ${alert.condition} ${alert.threshold} · value ${alert.value} · ${when}`)
          }
        ]
      }
    ],
    alert
  };
}

/** Slack's mrkdwn escapes: &, <, >. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A webhook URL for logs: scheme, host and port only (paths of Slack webhooks are secrets). */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(invalid URL)';
  }
}

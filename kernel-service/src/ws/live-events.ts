/**
 * Live events for subscribers of a model: deployment changes and alerts as they happen, and
 * the monitor's open windows at most once a second per model (`window`, and the older
 * per-second `stats` counts), which come from the monitor's update (so that each inference
 * is accumulated once, by the monitor). A slow subscriber (its socket's send buffer past a
 * limit) gets no more frames until it drains; meanwhile only the latest event of each kind
 * (of each alert, for alerts) is kept, and the next frame it gets says how many it missed.
 * Memory per subscriber is therefore bounded whatever the traffic.
 */
import type { WebSocket } from 'ws';
import { type AlertView, type OpsView, type WindowUpdate, opsView } from '../monitoring/views.js';
import { Ops } from '../monitoring/window.js';
import { modelView } from '../protocol/views.js';
import { DEFAULT_GATE, type GatePolicy } from '../serving/production-gate.js';
import type { ModelSummary } from '../registry/registry.js';

export type LiveEventKind = 'deployment' | 'stats' | 'window' | 'alert';

export interface VersionStats {
  version: number;
  requests: number;
  errors: number;
  rows: number;
  shadow_requests: number;
  latency_ms_mean: number;
  latency_ms_max: number;
}

/** Traffic since the previous `stats` event. */
export interface StatsEvent {
  window_start: string;
  window_seconds: number;
  versions: VersionStats[];
}

/** The model's open monitoring window so far. */
export interface WindowEvent {
  window_start: string;
  window_seconds: number;
  at: string;
  /** Served requests of all versions (as `status`'s `ops`), throughput over the window so far. */
  ops: OpsView;
  versions: Array<{ version: number; shadow_requests: number; ops: OpsView }>;
}

interface Subscriber {
  socket: WebSocket;
  models: Set<string>;
  /** Latest undelivered event per model and kind, while the socket is slow. */
  pending: Map<string, { model: string; kind: LiveEventKind; data: unknown }>;
  dropped: number;
}

export class LiveEvents {
  constructor(
    private readonly _slowBytes: number,
    /** Production's gate, shown per version in deployment events. */
    private readonly _gate: GatePolicy = DEFAULT_GATE
  ) {
    this._timer = setInterval(() => this._tick(), 1000);
    this._timer.unref();
  }

  subscribe(socket: WebSocket, model: string): void {
    let sub = this._subscribers.get(socket);
    if (!sub) {
      sub = { socket, models: new Set(), pending: new Map(), dropped: 0 };
      this._subscribers.set(socket, sub);
    }
    sub.models.add(model);
  }

  unsubscribe(socket: WebSocket, model?: string): void {
    const sub = this._subscribers.get(socket);
    if (!sub) return;
    if (model === undefined) sub.models.clear();
    else sub.models.delete(model);
    if (sub.models.size === 0) this._subscribers.delete(socket);
  }

  /** The monitor's update: a `stats` and a `window` event per model that took traffic. */
  windowsUpdated(updates: readonly WindowUpdate[], now = Date.now()): void {
    for (const u of updates) {
      if (!this._watched(u.model)) continue;
      const previous = this._lastStats.get(u.model);
      const last = previous !== undefined && now - previous <= 2000 ? previous : now - 1000;
      this._lastStats.set(u.model, now);
      this._publish(u.model, 'stats', {
        window_start: new Date(last).toISOString(),
        window_seconds: (now - last) / 1000,
        versions: u.versions.map(({ version, window, added }) => ({
          version,
          requests: added.requests,
          errors: added.errors,
          rows: added.rows,
          shadow_requests: added.shadowRequests,
          latency_ms_mean: added.latencyCount > 0 ? added.latencySum / added.latencyCount : 0,
          latency_ms_max: Math.max(window.served.latency.max ?? 0, window.shadow.latency.max ?? 0)
        }))
      } satisfies StatsEvent);
      const start = Math.max(...u.windows.map((w) => w.start));
      const latest = u.windows.filter((w) => w.start === start).sort((a, b) => a.version - b.version);
      const seconds = Math.max(1, Math.min(u.windowSeconds, (now - start) / 1000));
      const total = new Ops();
      for (const w of latest) total.merge(w.served);
      this._publish(u.model, 'window', {
        window_start: new Date(start).toISOString(),
        window_seconds: u.windowSeconds,
        at: new Date(now).toISOString(),
        ops: opsView(total, seconds),
        versions: latest.map((w) => ({ version: w.version, shadow_requests: w.shadow.requests, ops: opsView(w.served, seconds) }))
      } satisfies WindowEvent);
    }
    for (const sub of this._subscribers.values()) this._flush(sub);
  }

  /** An alert fired or resolved. */
  alert(alert: AlertView): void {
    this._publish(alert.model, 'alert', alert, String(alert.id));
  }

  deploymentChanged(summary: ModelSummary, action: string): void {
    this._publish(summary.name, 'deployment', { action, model: modelView(summary, this._gate) });
  }

  close(): void {
    clearInterval(this._timer);
    this._subscribers.clear();
  }

  private _tick(): void {
    for (const sub of this._subscribers.values()) this._flush(sub);
  }

  private _watched(model: string): boolean {
    for (const sub of this._subscribers.values()) if (follows(sub, model)) return true;
    return false;
  }

  /** `slot` keeps apart events of one kind that must not replace each other (alerts: one per alert). */
  private _publish(model: string, kind: LiveEventKind, data: unknown, slot = ''): void {
    for (const sub of this._subscribers.values()) {
      if (!follows(sub, model)) continue;
      if (sub.pending.size > 0 || sub.socket.bufferedAmount > this._slowBytes) {
        const key = `${model}\u0000${kind}\u0000${slot}`;
        if (sub.pending.has(key)) sub.dropped++;
        sub.pending.set(key, { model, kind, data });
        continue;
      }
      this._send(sub, model, kind, data);
    }
  }

  /** Sends what a slow subscriber missed, once its buffer has drained. */
  private _flush(sub: Subscriber): void {
    if (sub.pending.size === 0 || sub.socket.bufferedAmount > this._slowBytes) return;
    const pending = [...sub.pending.values()];
    sub.pending.clear();
    for (const p of pending) this._send(sub, p.model, p.kind, p.data);
  }

  private _send(sub: Subscriber, model: string, kind: LiveEventKind, data: unknown): void {
    if (sub.socket.readyState !== sub.socket.OPEN) return;
    const frame: Record<string, unknown> = { type: 'event', model, kind, data };
    if (sub.dropped > 0) {
      frame.coalesced = sub.dropped;
      sub.dropped = 0;
    }
    sub.socket.send(JSON.stringify(frame));
  }

  private readonly _subscribers = new Map<WebSocket, Subscriber>();
  /** When each model's last `stats` event was made (ms). */
  private readonly _lastStats = new Map<string, number>();
  private readonly _timer: NodeJS.Timeout;
}

/** What subscribing to `*` means: every model, those registered later included. */
export const ALL_MODELS = '*';

function follows(sub: Subscriber, model: string): boolean {
  return sub.models.has(model) || sub.models.has(ALL_MODELS);
}

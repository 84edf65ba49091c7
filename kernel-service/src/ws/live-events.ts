/**
 * Live events for subscribers of a model: deployment changes as they happen, and traffic
 * stats at most once a second per model. A slow subscriber (its socket's send buffer past
 * a limit) gets no more frames until it drains; meanwhile only the latest event of each
 * kind is kept, and the next frame it gets says how many it missed. Memory per subscriber
 * is therefore bounded whatever the traffic.
 */
import type { WebSocket } from 'ws';
import { modelView } from '../protocol/views.js';
import type { ModelSummary } from '../registry/registry.js';
import type { InferenceEvent } from '../serving/data-plane.js';

export type LiveEventKind = 'deployment' | 'stats';

export interface VersionStats {
  version: number;
  requests: number;
  errors: number;
  rows: number;
  shadow_requests: number;
  latency_ms_mean: number;
  latency_ms_max: number;
}

export interface StatsEvent {
  window_start: string;
  window_seconds: number;
  versions: VersionStats[];
}

interface Subscriber {
  socket: WebSocket;
  models: Set<string>;
  /** Latest undelivered event per model and kind, while the socket is slow. */
  pending: Map<string, { model: string; kind: LiveEventKind; data: unknown }>;
  dropped: number;
}

interface Accumulator {
  windowStart: number;
  versions: Map<number, { requests: number; errors: number; rows: number; shadow: number; latencySum: number; latencyMax: number }>;
}

export class LiveEvents {
  constructor(private readonly _slowBytes: number) {
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

  /** An inference happened: counted into the current one-second window of its model. */
  record(event: InferenceEvent): void {
    let acc = this._windows.get(event.model);
    if (!acc) {
      acc = { windowStart: Date.now(), versions: new Map() };
      this._windows.set(event.model, acc);
    }
    let v = acc.versions.get(event.version);
    if (!v) {
      v = { requests: 0, errors: 0, rows: 0, shadow: 0, latencySum: 0, latencyMax: 0 };
      acc.versions.set(event.version, v);
    }
    if (event.shadow) v.shadow++;
    else v.requests++;
    if (event.error) v.errors++;
    v.rows += event.inputs[0]?.shape[0] ?? 0;
    v.latencySum += event.latencyMs;
    if (event.latencyMs > v.latencyMax) v.latencyMax = event.latencyMs;
  }

  deploymentChanged(summary: ModelSummary, action: string): void {
    this._publish(summary.name, 'deployment', { action, model: modelView(summary) });
  }

  close(): void {
    clearInterval(this._timer);
    this._subscribers.clear();
  }

  private _tick(): void {
    const now = Date.now();
    for (const [model, acc] of this._windows) {
      this._windows.delete(model);
      const stats: StatsEvent = {
        window_start: new Date(acc.windowStart).toISOString(),
        window_seconds: (now - acc.windowStart) / 1000,
        versions: [...acc.versions].map(([version, v]) => {
          const answered = v.requests + v.shadow;
          return {
            version,
            requests: v.requests,
            errors: v.errors,
            rows: v.rows,
            shadow_requests: v.shadow,
            latency_ms_mean: answered ? v.latencySum / answered : 0,
            latency_ms_max: v.latencyMax
          };
        })
      };
      this._publish(model, 'stats', stats);
    }
    for (const sub of this._subscribers.values()) this._flush(sub);
  }

  private _publish(model: string, kind: LiveEventKind, data: unknown): void {
    for (const sub of this._subscribers.values()) {
      if (!sub.models.has(model)) continue;
      if (sub.pending.size > 0 || sub.socket.bufferedAmount > this._slowBytes) {
        const key = `${model}\u0000${kind}`;
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
  private readonly _windows = new Map<string, Accumulator>();
  private readonly _timer: NodeJS.Timeout;
}

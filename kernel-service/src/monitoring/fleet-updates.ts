/**
 * The live window stream of one replica among several: a notebook connected to any replica
 * sees the traffic of all. Each second's updates (this replica's windows and what they took)
 * get the open windows the other replicas published merged in — operations only, which is
 * all the stream shows — and what those took since they were last seen; a model served only
 * elsewhere gets an update of its own. Alone, a replica's updates pass through unchanged.
 */
import type { MonitoringStore } from './store.js';
import { add, countsOf, subtract } from './traffic-counts.js';
import type { TrafficCounts, WindowUpdate } from './views.js';
import { MonitorWindow } from './window.js';

/** Others' windows older than this are a replica gone quiet, not live traffic (ms). */
const RECENT_MS = 3000;

export class FleetUpdates {
  constructor(private readonly _store: MonitoringStore) {}

  /** `updates` with every other replica's traffic, and the models only others served. */
  async merge(updates: readonly WindowUpdate[], windowSeconds: number, now: number): Promise<{ updates: WindowUpdate[]; elsewhere: string[] }> {
    const elsewhere = await this._store.partialModels(now - RECENT_MS);
    if (elsewhere.length === 0 && this._seen.size === 0) return { updates: [...updates], elsewhere };
    const models = new Set([...updates.map((u) => u.model), ...elsewhere]);
    const seen = new Map<string, TrafficCounts>();
    const merged: WindowUpdate[] = [];
    for (const model of models) {
      const own = updates.find((u) => u.model === model);
      const others = (await this._store.loadPartials(model, now - windowSeconds * 1000, now + 1)).map((p) => MonitorWindow.fromJSON(p.state));
      if (!own && others.length === 0) continue;
      // Per version and window start: this replica's window and the others', operations only.
      const windows = new Map<string, MonitorWindow>();
      const opsInto = (w: MonitorWindow): MonitorWindow => {
        const k = `${w.version}\u0000${w.start}`;
        let target = windows.get(k);
        if (!target) windows.set(k, (target = new MonitorWindow(w.model, w.version, w.start, w.seconds)));
        target.served.merge(w.served);
        target.shadow.merge(w.shadow);
        return target;
      };
      const ownWindows = own ? [...own.windows, ...own.versions.map((v) => v.window).filter((w) => !own.windows.includes(w))] : [];
      for (const w of ownWindows) opsInto(w);
      const othersAdded = new Map<number, TrafficCounts>();
      for (const w of others) {
        opsInto(w);
        const k = `${model}\u0000${w.version}\u0000${w.start}`;
        const counts = countsOf(w);
        seen.set(k, add(seen.get(k) ?? zero(), counts));
      }
      for (const [k, counts] of seen) {
        if (!k.startsWith(`${model}\u0000`)) continue;
        const version = Number(k.split('\u0000')[1]);
        const delta = nonNegative(subtract(counts, this._seen.get(k)));
        othersAdded.set(version, add(othersAdded.get(version) ?? zero(), delta));
      }
      const latestOf = (version: number): MonitorWindow | undefined =>
        [...windows.values()].filter((w) => w.version === version).sort((a, b) => b.start - a.start)[0];
      const versions = new Set([...(own?.versions.map((v) => v.version) ?? []), ...othersAdded.keys()]);
      merged.push({
        model,
        windowSeconds: own?.windowSeconds ?? windowSeconds,
        versions: [...versions].flatMap((version) => {
          const window = latestOf(version);
          if (!window) return [];
          const added = add(own?.versions.find((v) => v.version === version)?.added ?? zero(), othersAdded.get(version) ?? zero());
          return [{ version, window, added }];
        }),
        windows: [...windows.values()]
      });
    }
    this._seen = seen;
    return { updates: merged, elsewhere };
  }

  /** What the other replicas' windows held at the last merge, per model, version and start. */
  private _seen = new Map<string, TrafficCounts>();
}

function zero(): TrafficCounts {
  return { requests: 0, shadowRequests: 0, errors: 0, rows: 0, latencyCount: 0, latencySum: 0 };
}

/** A window that closed (its partial left the store) drops from the sum: nothing was taken back. */
function nonNegative(c: TrafficCounts): TrafficCounts {
  return c.requests < 0 || c.rows < 0 ? zero() : c;
}

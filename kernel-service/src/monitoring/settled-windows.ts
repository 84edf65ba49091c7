/**
 * Settled windows (closed and stored), cached for the long queries: each window parsed once
 * and kept while it is among the most recently used, and the hour blocks of the store parsed
 * once, so that a day's `status` merges about 24 blocks plus the windows at its two edges,
 * and asking again parses nothing new. The monitoring worker tells the cache what it wrote,
 * and what the service's other replicas wrote (replica-windows.ts), so cached states do not
 * stay stale.
 */
import { BLOCK_SECONDS, type MonitoringStore, blockStart } from './store.js';
import type { WindowState } from './window.js';

const HOUR_MS = BLOCK_SECONDS * 1000;

export class SettledWindows {
  /** `maxWindows` and `maxBlockHours` bound memory: a 30-feature window is about 250 KB parsed. */
  constructor(
    private readonly _store: MonitoringStore,
    private readonly _maxWindows = 256,
    private readonly _maxBlockHours = 256
  ) {}

  /** Windows this process has just written: what was cached of them (and of their hours) is read again when asked. */
  stored(windows: readonly WindowState[]): void {
    this.forget(windows.map((w) => ({ model: w.model, version: w.modelVersion, start: w.start })));
  }

  /** Windows written elsewhere (another replica of the service): read again when asked. */
  forget(windows: ReadonlyArray<{ model: string; version: number; start: number }>): void {
    this._generation++;
    for (const w of windows) {
      this._windows.delete(windowKey(w.model, w.version, w.start));
      this._blocks.delete(hourKey(w.model, blockStart(w.start)));
    }
  }

  /** The stored windows of the model that overlap [from, to), in start order. */
  async windows(model: string, from: number, to: number): Promise<WindowState[]> {
    const keys = await this._store.windowKeys(model, from, to);
    // A long span read window by window (a day's chart, once) would only push out what the edges of spans need.
    const keep = keys.length <= this._maxWindows / 2;
    const out: WindowState[] = [];
    for (const k of keys) {
      const w = await this._window(model, k.version, k.start, keep);
      if (w) out.push(w);
    }
    return out;
  }

  /**
   * The settled part of [from, to) in as few states as possible: the hour blocks of the hours
   * that lie within [from, min(to, settledBefore)), and every other stored window that overlaps
   * [from, to). Merged, they give exactly what merging the span's windows one by one gives.
   */
  async span(model: string, from: number, to: number, settledBefore: number): Promise<WindowState[]> {
    const states: WindowState[] = [];
    const covered = new Set<number>();
    const until = Math.min(to, settledBefore);
    for (let h = Math.ceil(from / HOUR_MS) * HOUR_MS; h + HOUR_MS <= until; h += HOUR_MS) {
      const blocks = await this._hour(model, h);
      if (blocks.length === 0) continue;
      covered.add(h);
      states.push(...blocks);
    }
    const keys = (await this._store.windowKeys(model, from, to)).filter((k) => !covered.has(blockStart(k.start)));
    for (const k of keys) {
      const w = await this._window(model, k.version, k.start, true);
      if (w) states.push(w);
    }
    return states;
  }

  private async _window(model: string, version: number, start: number, keep: boolean): Promise<WindowState | undefined> {
    const key = windowKey(model, version, start);
    const hit = this._windows.get(key);
    if (hit) {
      this._windows.delete(key);
      this._windows.set(key, hit);
      return hit;
    }
    const generation = this._generation;
    const loaded = await this._store.loadWindow(model, version, start);
    // Not kept when a write came meanwhile: what was read may be older than what was written.
    if (loaded && keep && generation === this._generation) remember(this._windows, key, loaded, this._maxWindows);
    return loaded;
  }

  /** The blocks (one per version) of the hour starting at `h`; none when the store has none. */
  private async _hour(model: string, h: number): Promise<WindowState[]> {
    const key = hourKey(model, h);
    const hit = this._blocks.get(key);
    if (hit) {
      this._blocks.delete(key);
      this._blocks.set(key, hit);
      return hit;
    }
    const generation = this._generation;
    const loaded = (await this._store.loadBlocks(model, h, h + HOUR_MS)).map((b) => b.state);
    if (loaded.length > 0 && generation === this._generation) remember(this._blocks, key, loaded, this._maxBlockHours);
    return loaded;
  }

  /** Counts writes, so that a read that a write overtook is not cached. */
  private _generation = 0;
  private readonly _windows = new Map<string, WindowState>();
  private readonly _blocks = new Map<string, WindowState[]>();
}

function windowKey(model: string, version: number, start: number): string {
  return `${model}\u0000${version}\u0000${start}`;
}

function hourKey(model: string, h: number): string {
  return `${model}\u0000${h}`;
}

/** Least recently used first out. */
function remember<T>(map: Map<string, T>, key: string, value: T, max: number): void {
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value!);
}

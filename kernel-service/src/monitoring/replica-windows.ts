/**
 * Monitoring across the replicas of one service. Each replica's monitoring worker keeps its
 * own open windows; here it publishes them to the shared store (about once a second while
 * they take traffic, and every few seconds regardless, as a sign of life), reads the other
 * replicas' open windows into its views, learns which settled windows the others wrote (so
 * its caches read them again), and saves the open windows of a replica that stopped
 * publishing (its process died) as closed ones, so that what it served still counts.
 * Every window state merges, so a view merges the settled windows, its own open windows
 * and the others' into what one process serving all the traffic would show.
 */
import type { SettledWindows } from './settled-windows.js';
import type { MonitoringStore } from './store.js';
import { MonitorWindow } from './window.js';

/** Open windows are published at least this often, traffic or not (ms). */
const HEARTBEAT_MS = 5_000;
/** A replica silent for this long is gone: its open windows are saved by another (ms). */
const GONE_AFTER_MS = 30_000;
/** The other replicas' writes are read at most this often (ms). */
const WRITES_EVERY_MS = 1_000;

export class ReplicaWindows {
  constructor(
    private readonly _store: MonitoringStore,
    private readonly _settled: SettledWindows
  ) {}

  /** Publishes this replica's open windows when they took traffic (`changed`) or the heartbeat is due; adopts the windows of replicas gone. */
  async tick(open: readonly MonitorWindow[], changed: boolean, now: number): Promise<void> {
    if (changed || now - this._published >= HEARTBEAT_MS) {
      await this._store.savePartials(
        open.map((w) => w.toJSON()),
        now
      );
      this._published = now;
    }
    if (now - this._adopted >= HEARTBEAT_MS) {
      this._adopted = now;
      await this._store.adoptPartials(now - GONE_AFTER_MS);
    }
  }

  /** The other replicas' open windows of the model that overlap [from, to). */
  async others(model: string, from: number, to: number): Promise<MonitorWindow[]> {
    return (await this._store.loadPartials(model, from, to)).map((p) => MonitorWindow.fromJSON(p.state));
  }

  /** The earliest start among the other replicas' open windows of the model (Infinity for none): nothing from there on is settled. */
  openSince(others: readonly MonitorWindow[]): number {
    let since = Infinity;
    for (const w of others) since = Math.min(since, w.start);
    return since;
  }

  /** Forgets what the caches hold of windows the other replicas wrote since the last look. */
  async refresh(now: number): Promise<void> {
    if (now - this._writesReadAt < WRITES_EVERY_MS) return;
    this._writesReadAt = now;
    const { writes, last } = await this._store.windowWrites(this._writesSeen);
    this._writesSeen = last;
    if (writes.length > 0) this._settled.forget(writes);
  }

  private _published = -Infinity;
  private _adopted = -Infinity;
  private _writesReadAt = -Infinity;
  private _writesSeen = 0;
}

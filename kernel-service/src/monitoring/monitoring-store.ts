/**
 * Where monitoring keeps what outlives memory: closed windows (JSON, sketches and samples
 * included, so they merge later), the hour blocks (every window of an hour merged, kept as
 * windows are saved, so that a long span merges a block per hour), the predictions log that
 * delayed ground truth joins, performance per window, the concept-drift detectors' states,
 * and what the replicas of one service share of their open windows. An interface (its
 * methods answer promises) with two implementations: SQLite (store.ts, in the service's
 * database file) and PostgreSQL (postgres-store.ts); schema component `monitoring` on both.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { PerformanceState } from './accumulators.js';
import type { WindowState } from './window.js';

/** One served row, as the predictions log keeps it. */
export interface PredictionRecord {
  model: string;
  /** `<request_id>#<row>`, or `<request_id>` for a single-row request. */
  key: string;
  version: number;
  /** Start of the window the prediction belongs to (ms since the epoch). */
  windowStart: number;
  label: string | null;
  /** The positive class's score (binary classifiers). */
  score: number | null;
  value: number | null;
  at: number;
}

export interface DetectorRecord {
  state: unknown;
  /** When it last detected drift (ms), or null. */
  detectedAt: number | null;
}

export interface MonitoringStore {
  /**
   * Saves windows; a window already stored under the same (model, version, start) is merged
   * with. Each window is also merged into its hour's block.
   */
  saveWindows(windows: readonly WindowState[]): Promise<void>;
  /** Windows of the model that overlap [from, to) (ms). */
  loadWindows(model: string, from: number, to: number): Promise<WindowState[]>;
  /** Which windows of the model overlap [from, to), without their states (cheap). */
  windowKeys(model: string, from: number, to: number): Promise<Array<{ version: number; start: number }>>;
  loadWindow(model: string, version: number, start: number): Promise<WindowState | undefined>;
  /**
   * The hour blocks of the model whose hour lies within [from, to): per version, every window
   * that started in the hour merged (its `start` is the first window's start). Only hours whose
   * windows are all stored describe the hour whole.
   */
  loadBlocks(model: string, from: number, to: number): Promise<Array<{ block: number; state: WindowState }>>;
  appendPredictions(rows: readonly PredictionRecord[]): Promise<void>;
  /**
   * The logged predictions of these keys not joined to ground truth yet, marked as joined
   * now (so that feedback repeated for one id counts once). A key `<id>#0` also finds a
   * single-row request logged as `<id>`, and `<id>` one logged as `<id>#0`.
   */
  claimPredictions(model: string, keys: readonly string[]): Promise<Array<{ key: string; prediction: PredictionRecord }>>;
  /** Adds to the performance state of (model, version, window start). */
  updatePerformance(model: string, version: number, windowStart: number, update: (state: PerformanceState) => void): Promise<void>;
  loadPerformance(model: string, version: number, from: number, to: number): Promise<PerformanceState[]>;
  loadDetector(model: string, version: number): Promise<DetectorRecord | undefined>;
  saveDetector(model: string, version: number, record: DetectorRecord): Promise<void>;
  /**
   * Replicas of one service: this replica's open windows as they stand now (replacing what it
   * published before), so that the others' `status` and charts count its traffic before the
   * windows close. A window saved by `saveWindows` leaves the replica's partials in the same
   * transaction: its traffic is counted in one place at any moment.
   */
  savePartials(windows: readonly WindowState[], now: number): Promise<void>;
  /** The open windows other replicas published for the model that overlap [from, to), with when each was published. */
  loadPartials(model: string, from: number, to: number): Promise<Array<{ state: WindowState; updatedAt: number }>>;
  /** Models whose windows other replicas published since `since` (ms). */
  partialModels(since: number): Promise<string[]>;
  /**
   * Windows a replica stopped publishing before `before` (ms; its process died) are saved as
   * closed windows, once whichever replica asks first: what it served is not lost.
   */
  adoptPartials(before: number): Promise<number>;
  /** Windows other replicas saved after the write `after` (a sequence number; 0 at first), and the newest sequence number. */
  windowWrites(after: number): Promise<{ writes: Array<{ model: string; version: number; start: number }>; last: number }>;
  /**
   * Runs `fn` in one transaction: the store calls it makes (and awaits) commit together, or
   * none of them when it throws. Transactions run one at a time.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Drops what is older than `before` (ms), and the oldest predictions past `maxPredictions`. */
  prune(before: number, maxPredictions: number): Promise<void>;
  close(): Promise<void>;
}

/** A name for this process among a service's replicas: host, pid and a random part (pids are reused). */
export function newReplicaId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

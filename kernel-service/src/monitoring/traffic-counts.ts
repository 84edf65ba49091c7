/** A window's traffic as counts (what the live `stats` events add up), and their sums and differences. */
import type { TrafficCounts } from './views.js';
import type { MonitorWindow } from './window.js';

export function countsOf(w: MonitorWindow): TrafficCounts {
  return {
    requests: w.served.requests,
    shadowRequests: w.shadow.requests,
    errors: w.served.errors + w.shadow.errors,
    rows: w.served.rows + w.shadow.rows,
    latencyCount: w.served.latency.count + w.shadow.latency.count,
    latencySum: w.served.latency.sum + w.shadow.latency.sum
  };
}

/** `a - b` (b absent: a). */
export function subtract(a: TrafficCounts, b: TrafficCounts | undefined): TrafficCounts {
  if (!b) return a;
  return {
    requests: a.requests - b.requests,
    shadowRequests: a.shadowRequests - b.shadowRequests,
    errors: a.errors - b.errors,
    rows: a.rows - b.rows,
    latencyCount: a.latencyCount - b.latencyCount,
    latencySum: a.latencySum - b.latencySum
  };
}

export function add(a: TrafficCounts, b: TrafficCounts): TrafficCounts {
  return {
    requests: a.requests + b.requests,
    shadowRequests: a.shadowRequests + b.shadowRequests,
    errors: a.errors + b.errors,
    rows: a.rows + b.rows,
    latencyCount: a.latencyCount + b.latencyCount,
    latencySum: a.latencySum + b.latencySum
  };
}

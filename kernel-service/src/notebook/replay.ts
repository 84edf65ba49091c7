/**
 * Replay from TypeScript notebooks, as Python's `nd.replay`: what a candidate version would
 * have answered on the traffic a deployment captured, compared with what was served.
 * See docs/protocol.md#replay.
 */
import { z } from 'zod';
import type { ReplayMetrics } from '../replay/replay-report.js';
import { spanFields } from './capture.js';
import type { NotebookClient } from './client.js';

export interface ReplayOptions {
  /** The span that ends now, in seconds (default a day); or `start`/`end`. */
  lastSeconds?: number;
  start?: Date | string;
  end?: Date | string;
  /** "captured" runs the captured requests through the version; "shadow" compares its shadow answers. */
  source?: 'captured' | 'shadow';
  /** Rows replayed at most, the oldest first (default 100,000). */
  limit?: number;
}

/** What a replay found (docs/protocol.md#replay); `table` holds the rows compared. */
export interface Replay {
  model: string;
  version: number;
  source: 'captured' | 'shadow';
  rows: number;
  agreement: number | null;
  changed: number;
  metrics: ReplayMetrics | null;
  table: { columns: string[]; rows: unknown[][] };
  [key: string]: unknown;
}

const ReplayReply = z.looseObject({
  type: z.literal('replay'),
  model: z.string(),
  version: z.number(),
  source: z.enum(['captured', 'shadow']),
  rows: z.number(),
  agreement: z.number().nullable(),
  changed: z.number(),
  metrics: z.looseObject({ rows: z.number(), served: z.record(z.string(), z.number()), candidate: z.record(z.string(), z.number()), delta: z.record(z.string(), z.number()) }).nullable(),
  table: z.looseObject({ columns: z.array(z.string()), rows: z.array(z.array(z.unknown())) })
});

export async function runReplay(client: NotebookClient, name: string, version: number, options: ReplayOptions): Promise<Replay> {
  const limit = options.limit ?? 100_000;
  const message = { type: 'replay', model: name, version, ...spanFields(options, 86_400), source: options.source, limit, table_rows: limit };
  const { reply } = await client.request(message, ReplayReply);
  const { type: _type, id: _id, ...result } = reply;
  return result as Replay;
}

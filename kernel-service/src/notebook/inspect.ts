/**
 * Triage of a drifted window from TypeScript notebooks, as Python's `nd.inspect`: the rows a
 * deployment captured in a span and one feature against the version's training profile. The
 * service computes the findings and the fallbacks (text, HTML with the chart as SVG); this
 * shows them as the same MIME bundle. See docs/protocol.md#inspect.
 */
import { z } from 'zod';
import type { InspectPayload } from '../monitoring/inspect-output.js';
import { INSPECT_MIME, type MimeBundle } from './bundles.js';
import { type Captured, spanFields } from './capture.js';
import type { NotebookClient } from './client.js';

export interface InspectOptions {
  /** The feature to inspect (default: the most drifted). */
  feature?: string;
  /** The span: `start` (a Date, an ISO string or epoch milliseconds) to `end` (default now), or the last `lastSeconds` (default an hour). */
  start?: Date | string | number;
  end?: Date | string | number;
  lastSeconds?: number;
  /** The version whose served rows are read (default production). */
  version?: number;
  /** Rows read at most, the oldest first (default 10,000). */
  limit?: number;
}

/** What `inspect` found: the panel's findings (docs/protocol.md#inspect), the rows inspected, the fallbacks. */
export interface Inspection {
  report: InspectPayload;
  /** The captured rows inspected, as `captured` gives them. */
  rows: Captured;
  text: string;
  html: string;
}

const InspectReply = z.looseObject({
  type: z.literal('inspect'),
  report: z.looseObject({ model: z.string(), version: z.number(), from: z.string(), to: z.string(), feature: z.looseObject({ name: z.string() }) }),
  table: z.looseObject({
    columns: z.array(z.string()),
    rows: z.array(z.array(z.union([z.number(), z.string(), z.null()]))),
    hashed: z.array(z.string()),
    truncated: z.boolean()
  }),
  text: z.string(),
  html: z.string()
});

const moment = (t: Date | string | number | undefined): Date | string | undefined => (typeof t === 'number' ? new Date(t) : t);

export async function runInspect(client: NotebookClient, name: string, options: InspectOptions): Promise<Inspection> {
  const span = spanFields({ lastSeconds: options.lastSeconds, start: moment(options.start), end: moment(options.end) }, 3600);
  const message = { type: 'inspect', model: name, feature: options.feature, version: options.version, limit: options.limit, fallbacks: true, ...span };
  const { reply } = await client.request(message, InspectReply);
  const table = reply.table;
  return {
    report: reply.report as unknown as InspectPayload,
    rows: {
      columns: table.columns,
      rows: table.rows.map((values) => Object.fromEntries(table.columns.map((c, i) => [c, values[i] ?? null]))),
      hashed: table.hashed,
      from: reply.report.from,
      to: reply.report.to,
      truncated: table.truncated
    },
    text: reply.text,
    html: reply.html
  };
}

/** The panel, its text and its HTML (with the chart as SVG), as Python's `Inspection` shows them. */
export function inspectBundle(inspection: Inspection): MimeBundle {
  return { [INSPECT_MIME]: inspection.report, 'text/plain': inspection.text, 'text/html': inspection.html };
}

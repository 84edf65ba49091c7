/**
 * Capture from TypeScript notebooks, as Python's `nd.capture` / `nd.captured`: a deployment
 * keeps a share of its served requests (inputs, answers, shadow versions' answers) for
 * inspection and replay, read back as rows. See docs/protocol.md#capture.
 */
import { z } from 'zod';
import type { NotebookClient } from './client.js';
import { deploymentOf } from './deployment.js';
import { InputError } from './errors.js';
import { DeploymentReply } from './replies.js';
import type { Deployment } from './types.js';

export interface CaptureOptions {
  /** The share of requests kept, in [0, 1] (default 0.1); 0 stops keeping them. */
  rate?: number;
  /** Days each kept request stays (default 7). */
  retentionDays?: number;
}

export interface CapturedOptions {
  /** The span that ends now, in seconds or "15m", "1h", "2d" (default "1h"); or `start`/`end`. */
  lastSeconds?: number;
  start?: Date | string;
  end?: Date | string;
  version?: number;
  /** The shadow versions' answers to the same requests instead of the served ones. */
  shadow?: boolean;
  /** At most this many rows (default 10,000); `truncated` says whether there were more. */
  limit?: number;
}

/** Kept rows, one per served row: `at`, `request_id`, `version`, the features, the answers. */
export interface Captured {
  columns: string[];
  rows: Array<Record<string, number | string | null>>;
  /** Columns holding salted hashes of personal data. */
  hashed: string[];
  from: string;
  to: string;
  truncated: boolean;
}

const CapturedReply = z.looseObject({
  type: z.literal('captured'),
  from: z.string(),
  to: z.string(),
  columns: z.array(z.string()),
  rows: z.array(z.array(z.union([z.number(), z.string(), z.null()]))),
  hashed: z.array(z.string()),
  truncated: z.boolean()
});

export async function setCapture(client: NotebookClient, name: string, options: CaptureOptions): Promise<Deployment> {
  const rate = options.rate ?? 0.1;
  if (!(rate >= 0 && rate <= 1)) throw new InputError(`rate is the share of requests kept, between 0 and 1, not ${rate}`);
  const message = { type: 'set_capture', model: name, rate, retention_days: options.retentionDays ?? 7 };
  const { reply } = await client.request(message, DeploymentReply);
  const view = reply.model;
  return deploymentOf(client.info.url, view, view.deployment.production ?? Math.max(...view.versions.map((v) => v.version)));
}

/** A span as the service's messages take it: `from`/`to` when `start` is given, else the last `lastSeconds` up to `end` (or now). */
export function spanFields(options: { lastSeconds?: number; start?: Date | string; end?: Date | string }, defaultLastSeconds: number): Record<string, unknown> {
  const iso = (t: Date | string | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());
  const last = options.start === undefined ? { last_seconds: options.lastSeconds ?? defaultLastSeconds } : {};
  return { ...last, from: iso(options.start), to: iso(options.end) };
}

export async function readCaptured(client: NotebookClient, name: string, options: CapturedOptions): Promise<Captured> {
  const message = { type: 'captured', model: name, ...spanFields(options, 3600), version: options.version, shadow: options.shadow, limit: options.limit };
  const { reply } = await client.request(message, CapturedReply);
  return {
    columns: reply.columns,
    rows: reply.rows.map((values) => Object.fromEntries(reply.columns.map((c, i) => [c, values[i] ?? null]))),
    hashed: reply.hashed,
    from: reply.from,
    to: reply.to,
    truncated: reply.truncated
  };
}

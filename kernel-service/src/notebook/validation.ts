/**
 * `validate`: labelled rows sent to the service with the gates, slices and card; the
 * service runs them through the exact version that will ship, computes the whole report
 * (docs/protocol.md, "Validation: the verdict is the service's"), stores it and sends it back. The
 * notebook shows what the service stored; nothing here decides whether it passed.
 */
import { tensorToBytes } from '../protocol/datatypes.js';
import type { NotebookClient } from './client.js';
import { InputError } from './errors.js';
import { ValidationRecorded } from './replies.js';
import { buildInputs, checkRows, type Rows } from './rows.js';
import type { ClassLabel } from './signature.js';
import type { ModelArtifact, ModelCard, ValidationReport } from './types.js';

export interface ValidateOptions {
  /** Gates by metric, e.g. `{ f1: ">= 0.9", roc_auc: ">= baseline - 0.01" }`. */
  gates?: Record<string, string>;
  /** Compare with the production version on the same rows ("production", the default), or not (null). */
  baseline?: 'production' | null;
  /** Named slices: row masks `{ "young": [true, false, …] }`, or feature names (their categories, or quartiles of numbers). */
  slices?: Record<string, readonly boolean[]> | readonly string[];
  /** Model-card fields the registered card lacks, for the checklist. */
  card?: ModelCard;
  /** Bootstrap resamples for the intervals (0: none; the service's default 200). */
  resamples?: number;
  /** The bootstrap seed (the service's default 7). */
  seed?: number;
}

export async function validate(
  client: NotebookClient,
  art: ModelArtifact,
  rows: Rows,
  labels: readonly ClassLabel[],
  options: ValidateOptions = {}
): Promise<ValidationReport> {
  checkRows(rows, 'the validation rows');
  if (!Array.isArray(labels)) throw new InputError('validate needs the true labels (or values) of the rows, as an array');
  if (labels.length !== rows.length) throw new InputError(`the rows are ${rows.length} but the labels ${labels.length}; give one label per row`);
  const inputs = buildInputs(art.signature, rows);
  const message: Record<string, unknown> & { type: string } = {
    type: 'validate',
    model: art.name,
    version: art.version,
    inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
    labels: [...labels],
    baseline: options.baseline !== null
  };
  if (options.gates) message.gates = options.gates;
  if (options.slices) message.slices = Array.isArray(options.slices) ? [...options.slices] : options.slices;
  if (options.card) message.card = options.card;
  if (options.resamples !== undefined) message.resamples = options.resamples;
  if (options.seed !== undefined) message.seed = options.seed;
  const { reply } = await client.request(message, ValidationRecorded, inputs.map(tensorToBytes));
  return reportOf(reply.validation);
}

/** The stored validation as the report the notebook shows: the service's report with the stored id. */
function reportOf(validation: { id: number; passed: boolean; report?: unknown }): ValidationReport {
  const report = (validation.report ?? {}) as ValidationReport;
  return { ...report, passed: validation.passed, id: validation.id };
}

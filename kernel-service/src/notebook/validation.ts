/**
 * `validate`: labelled rows through the exact version that will ship (the one registered
 * in the service), measured with bootstrap intervals, compared with training and with
 * production, gated, checked for drift from training and for governance, and stored with
 * the version for reviewers and for deploy — python-bridge/nbdeploy/validate.py.
 */
import type { NotebookClient } from './client.js';
import { featureDrift } from './data-checks.js';
import { InputError } from './errors.js';
import { evaluateGates } from './gates.js';
import {
  bootstrapIntervals,
  classificationDetails,
  classificationScores,
  curves,
  type Metrics,
  percentile,
  regressionScores
} from './metrics.js';
import { ModelReply, ValidationRecorded } from './replies.js';
import { checkRows, columnsOf, type Rows } from './rows.js';
import { predictRows } from './serving.js';
import type { ClassLabel } from './signature.js';
import type { ChecklistItem, ModelArtifact, ModelCard, Prediction, ValidationReport } from './types.js';

/** Model-card fields the governance checklist asks for. */
const CARD_FIELDS: Array<[string, string]> = [
  ['owner', 'Owner'],
  ['intended_use', 'Intended use'],
  ['training_data', 'Training-data source']
];
const SLICE_MIN_ROWS = 10;

export interface ValidateOptions {
  /** Gates by metric, e.g. `{ f1: ">= 0.9", roc_auc: ">= baseline - 0.01" }`. */
  gates?: Record<string, string>;
  /** Compare with the production version on the same rows ("production", the default), or not (null). */
  baseline?: 'production' | null;
  /** Named slices: row masks `{ "young": [true, false, …] }`, or feature names (their categories, or quartiles of numbers). */
  slices?: Record<string, readonly boolean[]> | readonly string[];
  /** Model-card fields to add for the checklist. */
  card?: ModelCard;
  /** Bootstrap resamples for the intervals (0: none). */
  resamples?: number;
}

type Scorer = (idx: number[] | null) => Metrics;

function scorer(art: ModelArtifact, y: readonly ClassLabel[], pred: Prediction): Scorer {
  const take = <T>(a: readonly T[], idx: number[] | null): T[] => (idx ? idx.map((i) => a[i]!) : [...a]);
  if (art.signature.task === 'classification') {
    const classes = art.signature.classes ?? [];
    return (idx) => classificationScores(take(y, idx), take(pred.labels ?? [], idx), pred.scores ? take(pred.scores, idx) : null, classes);
  }
  const yNum = y.map(Number);
  return (idx) => regressionScores(take(yNum, idx), take((pred.values ?? []) as number[], idx));
}

/** y with the classes' type (labels from the service come back as numbers or strings). */
function labelsLike(y: readonly ClassLabel[], classes: readonly ClassLabel[] | null): ClassLabel[] {
  if (classes?.length && typeof classes[0] === 'string') return y.map(String);
  return y.map((v) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v));
}

function slicesOf(rows: Rows, featureNames: readonly string[] | null, slices: ValidateOptions['slices']): Array<[string, number[]]> {
  if (!slices) return [];
  if (!Array.isArray(slices)) {
    return Object.entries(slices as Record<string, readonly boolean[]>).map(([name, mask]) => {
      if (mask.length !== rows.length) throw new InputError(`slice "${name}" has ${mask.length} entries for ${rows.length} rows`);
      return [name, mask.flatMap((m, i) => (m ? [i] : []))];
    });
  }
  const columns = columnsOf(rows, featureNames);
  const out: Array<[string, number[]]> = [];
  for (const column of slices as readonly string[]) {
    const values = columns.get(column);
    if (!values) throw new InputError(`slice feature "${column}" is not in the validation data; it has ${[...columns.keys()].slice(0, 8).join(', ')}`);
    const numbers = values.every((v) => typeof v === 'number');
    if (numbers && new Set(values).size > 10) {
      // quartiles, as pandas.qcut(values, 4): (lo, hi] bins, the first one closed
      const x = values as number[];
      const edges = [...new Set([0, 25, 50, 75, 100].map((q) => percentile(x, q)))];
      for (let b = 0; b + 1 < edges.length; b++) {
        const lo = edges[b]!;
        const hi = edges[b + 1]!;
        const idx = x.flatMap((v, i) => ((b === 0 ? v >= lo : v > lo) && v <= hi ? [i] : []));
        out.push([`${column} in (${Number(lo.toPrecision(4))}, ${Number(hi.toPrecision(4))}]`, idx]);
      }
    } else {
      for (const level of new Set(values.filter((v) => v !== null))) {
        out.push([`${column} = ${level}`, values.flatMap((v, i) => (v === level ? [i] : []))]);
      }
    }
  }
  return out;
}

function checklist(artCard: ModelCard, card: ModelCard | undefined, inputs: readonly string[]): ChecklistItem[] {
  const merged: ModelCard = { ...artCard, ...(card ?? {}) };
  const items: ChecklistItem[] = CARD_FIELDS.map(([id, label]) => {
    const value = merged[id];
    return { id, label, status: value ? 'pass' : 'missing', detail: value ? String(value) : 'not given in the model card' };
  });
  const personal = (merged.personal_data ?? []).map(String);
  const used = [...new Set(personal.filter((p) => inputs.includes(p)))].sort();
  const flagged = 'personal_data' in merged;
  items.push({
    id: 'personal_data',
    label: 'Personal-data features kept out of the model',
    status: used.length ? 'fail' : flagged ? 'pass' : 'missing',
    detail: used.length
      ? `the model takes ${used.join(', ')}, flagged as personal data`
      : flagged
        ? `flagged: ${personal.join(', ') || 'none'}`
        : 'no features flagged (card field personal_data)'
  });
  return items;
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
  const { signature } = art;
  const task = signature.task;
  const y = task === 'classification' ? labelsLike(labels, signature.classes) : labels.map(Number);
  // evaluation traffic: the service answers it but keeps it out of monitoring
  const pred = await predictRows(client, art.name, rows, { version: art.version, monitor: false });
  const score = scorer(art, y, pred);
  const metrics = score(null);
  let details: ValidationReport['details'] = {};
  if (task === 'classification') {
    const classes = signature.classes ?? [];
    details = { ...classificationDetails(y, pred.labels ?? [], classes), ...curves(y, pred.scores, classes) };
  }
  const resamples = options.resamples ?? 200;
  const intervals = resamples ? bootstrapIntervals((idx) => score(idx), y.length, resamples) : {};

  let baseline: Metrics | null = null;
  let baselineVersion: number | null = null;
  if ((options.baseline === undefined ? 'production' : options.baseline) === 'production') {
    const production = (await client.request({ type: 'get_model', model: art.name }, ModelReply)).reply.model.deployment.production;
    if (production !== null && production !== art.version) {
      baselineVersion = production;
      const basePred = await predictRows(client, art.name, rows, { version: production, monitor: false });
      baseline = scorer(art, y, basePred)(null);
    }
  }
  const gates = evaluateGates(options.gates ?? {}, metrics, baseline, art.training_metrics);
  const featureNames = signature.layout === 'columns' ? null : signature.feature_names;
  const slices = slicesOf(rows, featureNames, options.slices).map(([slice, idx]) => ({
    slice,
    rows: idx.length,
    metrics: idx.length >= SLICE_MIN_ROWS ? score(idx) : null
  }));
  const drift = featureDrift(rows, featureNames, art.profile);
  const checks = checklist(art.card, options.card, [...signature.inputs.map((i) => i.name), ...(signature.feature_names ?? [])]);
  const passed = gates.every((g) => g.status !== 'fail') && checks.every((c) => c.status !== 'fail');
  const report: ValidationReport = {
    model: art.name,
    version: art.version,
    task,
    rows: y.length,
    passed,
    metrics,
    intervals,
    training: art.training_metrics,
    baseline,
    baseline_version: baselineVersion,
    gates,
    details,
    slices,
    data_checks: {
      drift,
      drifted_features: Object.keys(drift).filter((k) => drift[k]!.drifted).sort(),
      shared_with_training: { checked: false, detail: 'row hashes of the training data are recorded by the Python bridge only' }
    },
    checklist: checks,
    created_at: new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    id: null
  };
  const stored = await client.request(
    { type: 'attach_validation', model: art.name, version: art.version, passed, report: JSON.parse(JSON.stringify(report)) },
    ValidationRecorded
  );
  report.id = stored.reply.validation.id;
  return report;
}

/**
 * The service's verdict on a version: the `validate` message's rows run through the stored
 * version (evaluation traffic: answered, left out of monitoring; an archived version is
 * loaded on demand), and the whole report computed here — metrics by scikit-learn's
 * definitions, seeded bootstrap intervals, the production version on the same rows, gates,
 * slices, drift against the stored training profile, the governance checklist from the
 * stored metadata — then stored with who asked. Nothing the client sends decides `passed`:
 * its evidence (rows shared with training) is shown as sent.
 */
import { ServiceError } from '../errors.js';
import type { Tensor } from '../protocol/datatypes.js';
import type { Actor, Registry, ValidationRecord, VersionRecord } from '../registry/registry.js';
import { type RequestTensor, isUndecoded } from '../serving/admission.js';
import type { DataPlane } from '../serving/data-plane.js';
import { BOOTSTRAP_SEED, DEFAULT_RESAMPLES, INTERVAL_LEVEL, bootstrapIntervals } from './bootstrap.js';
import { governanceChecklist, type ModelCard } from './checklist.js';
import { featureDrift } from './data-checks.js';
import { featureColumns } from './feature-columns.js';
import { evaluateGates } from './gates.js';
import { checkLabelCount, classLabels, targetValues } from './labels.js';
import { CLASSIFICATION, REGRESSION, type Metrics, classificationDetails, classificationScores, curves, regressionScores } from './metrics.js';
import { type ClassLabel, type ModelOutputs, type OutputRoles, readOutputs } from './model-outputs.js';
import type { SharedWithTraining, ValidationReport } from './report.js';
import { SLICE_MIN_ROWS, type SliceRequest, sliceRows } from './slices.js';

export interface ValidationRequest {
  model: string;
  version: number;
  inputs: readonly RequestTensor[];
  labels: readonly unknown[];
  gates?: Readonly<Record<string, string>>;
  slices?: SliceRequest;
  /** Compare with the production version on the same rows (default true). */
  baseline?: boolean;
  evidence?: { shared_with_training?: Omit<SharedWithTraining, 'source'> };
  resamples?: number;
  seed?: number;
  card?: ModelCard;
}

/** nbdeploy's signature as recorded in a version's metadata (`metadata.nbdeploy.signature`). */
interface VersionSignature extends OutputRoles {
  layout?: 'matrix' | 'columns';
  inputs?: Array<{ name: string }>;
  feature_names?: string[] | null;
  task?: 'classification' | 'regression' | null;
  classes?: ClassLabel[] | null;
}

interface NbdeployMetadata {
  signature?: VersionSignature;
  training_metrics?: Metrics;
  parity?: Record<string, unknown>;
  card?: ModelCard;
}

const badRequest = (issue: string): ServiceError => new ServiceError('NBD_ERR_BAD_REQUEST', { issues: issue });

function nbdeployOf(record: VersionRecord): NbdeployMetadata {
  return (record.metadata.nbdeploy ?? {}) as NbdeployMetadata;
}

type Scorer = (idx: number[] | null) => Metrics;

function scorer(signature: VersionSignature, y: readonly ClassLabel[] | readonly number[], pred: ModelOutputs, model: string, version: number): Scorer {
  const take = <T>(a: readonly T[], idx: number[] | null): T[] => (idx ? idx.map((i) => a[i]!) : [...a]);
  if (signature.task === 'classification') {
    if (!pred.labels) throw new ServiceError('NBD_ERR_INFERENCE_FAILED', { model, version, reason: `no label output "${signature.label_output}" in the answer` });
    const labels = pred.labels;
    const scores = pred.scores;
    return (idx) => classificationScores(take(y, idx), take(labels, idx), scores ? take(scores, idx) : null, signature.classes ?? []);
  }
  const values = pred.values;
  if (!values || values.some((v) => Array.isArray(v))) {
    throw new ServiceError('NBD_ERR_INFERENCE_FAILED', { model, version, reason: `output "${signature.value_output}" does not hold one value per row` });
  }
  return (idx) => regressionScores(take(y as number[], idx), take(values as number[], idx));
}

export class VersionValidation {
  constructor(
    private readonly _registry: Registry,
    private readonly _dataPlane: DataPlane
  ) {}

  /** Computes the report, stores it under `actor`, and returns the stored record. */
  async validate(request: ValidationRequest, actor: Actor): Promise<ValidationRecord> {
    const { model, version } = request;
    const record = await this._version(model, version);
    const meta = nbdeployOf(record);
    const signature = meta.signature;
    if (!signature?.task || (signature.task === 'classification' && !signature.classes?.length)) {
      throw badRequest(
        `version ${version} of "${model}" was registered without nbdeploy's signature (its task, classes and which output holds what), ` +
          'so the service cannot read its answers: register it with nd.export + nd.register (Python) or nd.register (TypeScript)'
      );
    }
    const task = signature.task;
    const inputs = request.inputs.map((t): Tensor => {
      if (isUndecoded(t)) throw t.problem;
      return t;
    });
    const rows = inputs[0]!.shape[0] ?? 1;
    checkLabelCount(request.labels, rows);
    const y = task === 'classification' ? classLabels(request.labels, signature.classes!) : targetValues(request.labels);
    const names = task === 'classification' ? CLASSIFICATION : REGRESSION;
    // The request's own mistakes are refused before any row is run.
    evaluateGates(request.gates ?? {}, Object.fromEntries(names.map((m) => [m, null])), null, null);
    const featureNames = signature.layout === 'columns' ? null : (signature.feature_names ?? null);
    const columns = featureColumns(inputs, featureNames, rows);
    const sliced = sliceRows(columns, rows, request.slices);
    const resamples = request.resamples ?? DEFAULT_RESAMPLES;
    const seed = request.seed ?? BOOTSTRAP_SEED;

    const pred = await this._answers(model, version, inputs, signature, rows);
    const score = scorer(signature, y, pred, model, version);
    const metrics = score(null);
    let details: ValidationReport['details'] = {};
    if (task === 'classification') {
      const classes = signature.classes!;
      details = { ...classificationDetails(y, pred.labels!, classes), ...curves(y, pred.scores, classes) };
    }
    const intervals = resamples ? bootstrapIntervals((idx) => score(idx), rows, resamples, INTERVAL_LEVEL, seed) : {};

    let baseline: Metrics | null = null;
    let baselineVersion: number | null = null;
    const production = (await this._registry.getModel(model))?.deployment.production ?? null;
    if (request.baseline !== false && production !== null && production !== version) {
      const productionRecord = await this._version(model, production);
      const productionSignature = { ...signature, ...(nbdeployOf(productionRecord).signature ?? {}) };
      const basePred = await this._answers(model, production, inputs, productionSignature, rows);
      baseline = scorer(productionSignature, y, basePred, model, production)(null);
      baselineVersion = production;
    }
    const training = meta.training_metrics ?? {};
    const gates = evaluateGates(request.gates ?? {}, metrics, baseline, training);
    const slices = sliced.map(([slice, idx]) => ({ slice, rows: idx.length, metrics: idx.length >= SLICE_MIN_ROWS ? score(idx) : null }));
    const drift = featureDrift(columns, (await this._registry.getProfile(model, version)) ?? null);
    const inputNames = [...(signature.inputs ?? []).map((i) => i.name), ...(signature.feature_names ?? [])];
    const checklist = governanceChecklist(meta.card ?? {}, request.card, inputNames, meta.parity ?? null);
    const passed = gates.every((g) => g.status !== 'fail') && checklist.every((c) => c.status !== 'fail');
    const shared = request.evidence?.shared_with_training;
    const report: ValidationReport = {
      model,
      version,
      task,
      rows,
      passed,
      metrics,
      intervals,
      bootstrap: { resamples, seed, level: INTERVAL_LEVEL, generator: 'mulberry32' },
      training,
      baseline,
      baseline_version: baselineVersion,
      gates,
      details,
      slices,
      data_checks: {
        drift,
        drifted_features: Object.keys(drift).filter((k) => drift[k]!.drifted).sort(),
        shared_with_training: shared ? { ...shared, source: 'client' } : { checked: false, detail: 'the client sent no row hashes to compare with the training rows' }
      },
      checklist,
      evidence: { ...(request.evidence ?? {}) },
      validated_by: actor.user,
      created_at: new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00'),
      id: null
    };
    return this._registry.addValidation(model, version, passed, report as unknown as Record<string, unknown>, actor);
  }

  private async _version(model: string, version: number): Promise<VersionRecord> {
    const record = await this._registry.getVersion(model, version);
    if (record) return record;
    throw new ServiceError((await this._registry.getModel(model)) ? 'NBD_ERR_VERSION_NOT_FOUND' : 'NBD_ERR_MODEL_NOT_FOUND', { model, version });
  }

  /** The version's answers to the rows, as evaluation traffic (not monitored). */
  private async _answers(model: string, version: number, inputs: readonly Tensor[], signature: VersionSignature, rows: number): Promise<ModelOutputs> {
    const result = await this._dataPlane.infer(model, version, { inputs, monitor: false }, 'ws');
    const read = readOutputs(signature, result.outputs);
    const answered = read.labels?.length ?? read.values?.length ?? rows;
    if (answered !== rows) {
      throw new ServiceError('NBD_ERR_INFERENCE_FAILED', { model, version, reason: `it answered ${answered} rows for ${rows}` });
    }
    return read;
  }
}

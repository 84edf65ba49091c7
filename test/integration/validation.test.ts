/**
 * The verdict is the service's: a `validate` message's rows run through the stored version
 * inside a real `nbdeploy serve`, which computes, stores and returns the report; nothing a
 * client sends (a forged attach_validation, a `passed` field, evidence) opens the production
 * gate; bad input is refused naming what was wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IRIS_METADATA, fixture, fp32, irisValidationRows, variant } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';
import { encodeTensor } from '../support/tensors.js';

const IRIS = fixture('iris_classifier.onnx');
const { rows: ROWS, labels: LABELS } = irisValidationRows();
/** 40 labelled rows: the fixture's rows repeated, every fourth label wrong. */
const MANY = Array.from({ length: 40 }, (_, i) => ROWS[i % ROWS.length]!);
const MANY_LABELS = MANY.map((_, i) => (i % 4 === 3 ? (LABELS[i % LABELS.length]! + 1) % 3 : LABELS[i % LABELS.length]!));

let service: ServiceProcess;
let carol: NotebookClient;

beforeAll(async () => {
  service = await startService();
  carol = await NotebookClient.connect(service, { headers: { 'x-nbdeploy-user': 'carol' } });
  await carol.register('iris', IRIS, { metadata: IRIS_METADATA });
  await carol.register('iris', variant(IRIS, 'v2'), { metadata: IRIS_METADATA });
  await carol.register('plain', IRIS);
});

afterAll(async () => {
  await carol?.close();
  await cleanup();
});

const validate = (extra: Record<string, unknown>) =>
  carol.request({ type: 'validate', model: 'iris', version: 1, inputs: [fp32('input', MANY)], labels: MANY_LABELS, ...extra });

describe('validate', () => {
  it('should compute the report in the service, store it with who validated, and return it', async () => {
    const reply = await validate({ gates: { accuracy: '>= 0.7', f1: '>= 0.99' }, slices: { first_half: MANY.map((_, i) => i < 20) }, resamples: 50 });
    expect(reply.type, JSON.stringify(reply)).toBe('validation_recorded');
    const { validation } = reply;
    expect(validation).toMatchObject({ model: 'iris', version: 1, passed: false, created_by: 'carol' });
    const report = validation.report;
    expect(report).toMatchObject({ model: 'iris', version: 1, task: 'classification', rows: 40, passed: false, validated_by: 'carol' });
    expect(report.metrics.accuracy).toBe(30 / 40);
    expect(report.gates.map((g: { metric: string; status: string }) => [g.metric, g.status])).toEqual([
      ['accuracy', 'pass'],
      ['f1', 'fail']
    ]);
    expect(report.details.confusion_matrix.labels).toEqual(['0', '1', '2']);
    expect(report.details.confusion_matrix.matrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(40);
    expect(report.slices).toEqual([{ slice: 'first_half', rows: 20, metrics: expect.objectContaining({ accuracy: 15 / 20 }) }]);
    expect(report.bootstrap).toEqual({ resamples: 50, seed: 7, level: 0.95, generator: 'mulberry32' });
    const [lo, hi] = report.intervals.accuracy;
    expect(lo).toBeLessThanOrEqual(0.75);
    expect(hi).toBeGreaterThanOrEqual(0.75);
    expect(report.training).toEqual({ accuracy: 0.97 });
    expect(report.checklist.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
      ['owner', 'pass'],
      ['intended_use', 'pass'],
      ['training_data', 'pass'],
      ['personal_data', 'pass']
    ]);
    // stored: what get_validation returns is what was computed
    const stored = await carol.call({ type: 'get_validation', model: 'iris', version: 1 });
    expect(stored.validation.id).toBe(validation.id);
    expect(stored.validation.report).toEqual(report);
  });

  it('should give the same intervals for the same seed, and other ones for another seed', async () => {
    const a = (await validate({ resamples: 40, seed: 12345 })).validation.report;
    const b = (await validate({ resamples: 40, seed: 12345 })).validation.report;
    const c = (await validate({ resamples: 40, seed: 54321 })).validation.report;
    expect(b.intervals).toEqual(a.intervals);
    expect(c.intervals).not.toEqual(a.intervals);
    expect(a.bootstrap.seed).toBe(12345);
  });

  it('should take the rows as a binary frame, as infer does, and give the same report', async () => {
    const json = (await validate({ resamples: 20 })).validation.report;
    const reply = await carol.callBinary(
      { type: 'validate', model: 'iris', version: 1, inputs: [{ name: 'input', datatype: 'FP32', shape: [MANY.length, 4] }], labels: MANY_LABELS, resamples: 20 },
      [encodeTensor('FP32', MANY.flat())]
    );
    const binary = reply.validation.report;
    expect(binary.metrics).toEqual(json.metrics);
    expect(binary.intervals).toEqual(json.intervals);
    expect(binary.details).toEqual(json.details);
  });

  it('should compare with the production version on the same rows', async () => {
    await carol.validateIris('iris', 1);
    await carol.call({ type: 'deploy', model: 'iris', version: 1 });
    const report = (await carol.request({ type: 'validate', model: 'iris', version: 2, inputs: [fp32('input', MANY)], labels: MANY_LABELS, gates: { accuracy: '>= baseline' } }))
      .validation.report;
    expect(report.baseline_version).toBe(1);
    expect(report.baseline.accuracy).toBe(report.metrics.accuracy);
    expect(report.gates[0]).toMatchObject({ metric: 'accuracy', status: 'pass', threshold: 0.75 });
    const without = (await carol.request({ type: 'validate', model: 'iris', version: 2, inputs: [fp32('input', ROWS)], labels: LABELS, baseline: false })).validation.report;
    expect(without).toMatchObject({ baseline: null, baseline_version: null });
    // an archived version is validated too: loaded on demand, as evaluation traffic
    await carol.call({ type: 'undeploy', model: 'iris', version: 2 });
    const archived = await carol.call({ type: 'validate', model: 'iris', version: 2, inputs: [fp32('input', ROWS)], labels: LABELS, baseline: false });
    expect(archived.validation.report.metrics.accuracy).toBe(1);
  });

  it('should keep its rows out of monitoring (evaluation traffic)', async () => {
    // every request to iris so far was a validation's: version 1, production now, has seen none
    const status = await carol.call({ type: 'status', model: 'iris', version: 1 });
    expect(status.ops).toMatchObject({ requests: 0, rows: 0 });
  });

  it('should show client evidence without letting it decide, and fail a personal-data input from the card', async () => {
    const shared = { checked: true, rows: 0, share: 0 };
    const report = (await validate({ gates: { f1: '>= 0.99' }, evidence: { shared_with_training: shared } })).validation.report;
    expect(report.data_checks.shared_with_training).toEqual({ ...shared, source: 'client' });
    expect(report.evidence).toEqual({ shared_with_training: shared });
    expect(report.passed).toBe(false);
    // a card sent with validate adds to the stored card: it can flag an input, never unflag one
    const flagged = (await carol.request({ type: 'validate', model: 'iris', version: 2, inputs: [fp32('input', ROWS)], labels: LABELS, card: { personal_data: ['petal_width'] } }))
      .validation;
    expect(flagged.passed).toBe(false);
    expect(flagged.report.checklist.find((c: { id: string }) => c.id === 'personal_data')).toMatchObject({ status: 'fail', detail: expect.stringContaining('petal_width') });
  });

  it('should compute drift against the stored training profile', async () => {
    const profile = { features: { sepal_length: { kind: 'numeric', sample: Array.from({ length: 200 }, (_, i) => 20 + i / 100) } } };
    const reg = await carol.register('drifted', IRIS, { metadata: IRIS_METADATA, profile });
    const report = (await carol.call({ type: 'validate', model: 'drifted', version: reg.version, inputs: [fp32('input', MANY)], labels: MANY_LABELS })).validation.report;
    expect(report.data_checks.drifted_features).toEqual(['sepal_length']);
    expect(report.data_checks.drift.sepal_length).toMatchObject({ method: 'ks', drifted: true, statistic: 1 });
  });
});

describe('the production gate', () => {
  it('should not open for a forged attach_validation, a passed field, or evidence', async () => {
    await carol.register('guarded', IRIS, { metadata: IRIS_METADATA });
    const forged = await carol.request({ type: 'attach_validation', model: 'guarded', version: 1, passed: true, report: { f1: 1 } });
    expect(forged).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
    const withPassed = await carol.request({ type: 'validate', model: 'guarded', version: 1, inputs: [fp32('input', ROWS)], labels: LABELS, passed: true });
    expect(withPassed).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_FRAME' });
    expect(withPassed.error).toMatch(/passed/);
    expect(await carol.request({ type: 'deploy', model: 'guarded', version: 1 })).toMatchObject({ code: 'NBD_ERR_VALIDATION_REQUIRED' });
    const failing = await carol.call({
      type: 'validate',
      model: 'guarded',
      version: 1,
      inputs: [fp32('input', ROWS)],
      labels: LABELS,
      gates: { accuracy: '> 1' },
      evidence: { shared_with_training: { checked: true, rows: 0, share: 0 } }
    });
    expect(failing.validation.passed).toBe(false);
    const refused = await carol.request({ type: 'deploy', model: 'guarded', version: 1 });
    expect(refused).toMatchObject({ code: 'NBD_ERR_VALIDATION_REQUIRED' });
    expect(refused.error).toMatch(/did not pass its gates/);
    await carol.validateIris('guarded', 1, { gates: { accuracy: '>= 1' } });
    expect((await carol.call({ type: 'deploy', model: 'guarded', version: 1 })).model.deployment.production).toBe(1);
  });
});

describe('bad input', () => {
  const expectRefused = async (extra: Record<string, unknown>, pattern: RegExp, code = 'NBD_ERR_BAD_REQUEST') => {
    const reply = await carol.request({ type: 'validate', model: 'iris', version: 1, inputs: [fp32('input', ROWS)], labels: LABELS, ...extra });
    expect(reply, JSON.stringify(reply)).toMatchObject({ type: 'error', code });
    expect(reply.error).toMatch(pattern);
  };

  it('should name a label count that is not the row count', () => expectRefused({ labels: [0, 1] }, /labels has 2 values for 5 rows/));
  it('should name a label of the wrong type', () => expectRefused({ labels: [0, 1, 'setosa', 2, 2] }, /labels\[2\] is "setosa", but the model's classes are numbers/));
  it('should name an unknown slice column', () => expectRefused({ slices: ['colour'] }, /slice column "colour" is not a feature.*sepal_length/));
  it('should name a slice mask of the wrong length', () => expectRefused({ slices: { few: [true] } }, /slice "few" has 1 entries for 5 rows/));
  it('should name a gate it cannot read', () => expectRefused({ gates: { f1: 'at least 0.9' } }, /gate condition of "f1" "at least 0.9"/));
  it('should name a gate on an unknown metric', () => expectRefused({ gates: { f2: '>= 0.9' } }, /unknown metric "f2"/));
  it('should name inputs that do not fit the model', () => expectRefused({ inputs: [fp32('input', ROWS.map((r) => r.slice(0, 3)))] }, /input "input" has shape \[5,3\]|\[5, 3\]/, 'NBD_ERR_INPUT_SHAPE'));
  it('should refuse a version registered without nbdeploy signature, saying why', async () => {
    const reply = await carol.request({ type: 'validate', model: 'plain', version: 1, inputs: [fp32('input', ROWS)], labels: LABELS });
    expect(reply).toMatchObject({ type: 'error', code: 'NBD_ERR_BAD_REQUEST' });
    expect(reply.error).toMatch(/registered without nbdeploy's signature/);
  });
  it('should refuse an unknown version', () => expectRefused({ version: 9 }, /has no version 9/, 'NBD_ERR_VERSION_NOT_FOUND'));
});

/**
 * Model quality metrics by scikit-learn's definitions (the fixtures in test/fixtures/metrics
 * are scikit-learn's answers): accuracy, precision, recall, f1, roc_auc, log_loss for
 * classifiers; mae, rmse, r2, mape for regressors. Classification: the positive class of a
 * binary model is its second class (`classes[1]`, as scikit-learn's `predict_proba` orders
 * them); multiclass precision, recall and F1 are macro averages, ROC AUC is one-vs-rest
 * macro. A metric that cannot be computed on the data (AUC on one class) is null.
 */
import type { ClassLabel } from './model-outputs.js';

export type MetricValue = number | null;
export type Metrics = Record<string, MetricValue>;

export const CLASSIFICATION = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'log_loss'] as const;
export const REGRESSION = ['mae', 'rmse', 'r2', 'mape'] as const;
/** Metrics where lower is better (gates and comparisons read this). */
export const LOWER_IS_BETTER = new Set(['log_loss', 'mae', 'rmse', 'mape']);
const EPS = 2.220446049250313e-16; // numpy.finfo(float64).eps, as scikit-learn clips with

const key = (v: ClassLabel): string => String(v);
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const finiteOrNull = (v: number): MetricValue => (Number.isFinite(v) ? v : null);

/** Per class: true positives, false positives, false negatives, support (scikit-learn's multilabel confusion). */
function counts(yTrue: readonly ClassLabel[], labels: readonly ClassLabel[], classes: readonly ClassLabel[]) {
  const index = new Map(classes.map((c, i) => [key(c), i]));
  const tp = new Array<number>(classes.length).fill(0);
  const fp = new Array<number>(classes.length).fill(0);
  const fn = new Array<number>(classes.length).fill(0);
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(key(yTrue[i]!));
    const p = index.get(key(labels[i]!));
    if (t !== undefined && t === p) tp[t]!++;
    else {
      if (p !== undefined) fp[p]!++;
      if (t !== undefined) fn[t]!++;
    }
  }
  const support = tp.map((v, i) => v + fn[i]!);
  return { tp, fp, fn, support };
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b); // zero_division=0

/** Area under the ROC curve of scores for a boolean truth (ties get half credit). */
export function rocAuc(positive: readonly boolean[], scores: readonly number[]): MetricValue {
  const n = positive.length;
  const nPos = positive.filter(Boolean).length;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  const order = [...scores.keys()].sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j) / 2 + 1; // average rank of the tie group
    for (let k = i; k <= j; k++) if (positive[order[k]!]) rankSumPos += rank;
    i = j + 1;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export function classificationScores(
  yTrue: readonly ClassLabel[],
  labels: readonly ClassLabel[],
  scores: readonly (readonly number[])[] | null,
  classes: readonly ClassLabel[]
): Metrics {
  if (yTrue.length === 0) return Object.fromEntries(CLASSIFICATION.map((m) => [m, null]));
  const binary = classes.length === 2;
  const { tp, fp, fn } = counts(yTrue, labels, classes);
  const precision = tp.map((t, i) => ratio(t, t + fp[i]!));
  const recall = tp.map((t, i) => ratio(t, t + fn[i]!));
  const f1 = tp.map((t, i) => ratio(2 * t, 2 * t + fp[i]! + fn[i]!));
  const pick = (per: number[]): number => (binary ? per[1]! : mean(per));
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) if (key(yTrue[i]!) === key(labels[i]!)) correct++;
  const out: Metrics = {
    accuracy: correct / yTrue.length,
    precision: pick(precision),
    recall: pick(recall),
    f1: pick(f1),
    roc_auc: null,
    log_loss: null
  };
  if (scores) {
    if (binary) {
      out.roc_auc = rocAuc(yTrue.map((y) => key(y) === key(classes[1]!)), scores.map((s) => s[1]!));
    } else {
      // scikit-learn refuses one-vs-rest AUC unless every row sums to one (numpy.allclose's tolerances)
      const probabilities = scores.every((row) => Math.abs(row.reduce((a, b) => a + b, 0) - 1) <= 1e-8 + 1e-5);
      const perClass = classes.map((c, j) => rocAuc(yTrue.map((y) => key(y) === key(c)), scores.map((s) => s[j]!)));
      out.roc_auc = probabilities && perClass.every((v) => v !== null) ? mean(perClass as number[]) : null;
    }
    out.log_loss = logLoss(yTrue, scores, classes);
  }
  return out;
}

/**
 * Cross-entropy of the true class's probability, clipped to [eps, 1 - eps] as scikit-learn
 * does; like scikit-learn (1.5 on), rows that do not sum to one are not normalised.
 */
export function logLoss(yTrue: readonly ClassLabel[], scores: readonly (readonly number[])[], classes: readonly ClassLabel[]): MetricValue {
  const index = new Map(classes.map((c, i) => [key(c), i]));
  let total = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const j = index.get(key(yTrue[i]!));
    if (j === undefined) return null; // a label the model does not know: scikit-learn refuses too
    total -= Math.log(Math.min(Math.max(scores[i]![j]!, EPS), 1 - EPS));
  }
  return finiteOrNull(total / yTrue.length);
}

export function regressionScores(yTrue: readonly number[], values: readonly number[]): Metrics {
  const n = yTrue.length;
  if (n === 0) return Object.fromEntries(REGRESSION.map((m) => [m, null]));
  let abs = 0;
  let sq = 0;
  let ape = 0;
  for (let i = 0; i < n; i++) {
    const d = yTrue[i]! - values[i]!;
    abs += Math.abs(d);
    sq += d * d;
    ape += Math.abs(d) / Math.max(Math.abs(yTrue[i]!), EPS);
  }
  const m = mean(yTrue);
  const tot = yTrue.reduce((a, y) => a + (y - m) ** 2, 0);
  // scikit-learn's r2_score with force_finite: constant truth gives 1 (perfect) or 0
  const r2 = tot === 0 ? (sq === 0 ? 1 : 0) : 1 - sq / tot;
  return { mae: finiteOrNull(abs / n), rmse: finiteOrNull(Math.sqrt(sq / n)), r2: finiteOrNull(r2), mape: finiteOrNull(ape / n) };
}

export interface ClassificationDetails {
  confusion_matrix: { labels: string[]; matrix: number[][] };
  per_class: Record<string, { precision: number; recall: number; f1: number; support: number }>;
}

/** Confusion matrix (rows: true class, columns: predicted) and per-class metrics. */
export function classificationDetails(yTrue: readonly ClassLabel[], labels: readonly ClassLabel[], classes: readonly ClassLabel[]): ClassificationDetails {
  const index = new Map(classes.map((c, i) => [key(c), i]));
  const matrix = classes.map(() => new Array<number>(classes.length).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = index.get(key(yTrue[i]!));
    const p = index.get(key(labels[i]!));
    if (t !== undefined && p !== undefined) matrix[t]![p]!++;
  }
  const { tp, fp, fn, support } = counts(yTrue, labels, classes);
  const perClass: ClassificationDetails['per_class'] = {};
  classes.forEach((c, i) => {
    perClass[key(c)] = {
      precision: ratio(tp[i]!, tp[i]! + fp[i]!),
      recall: ratio(tp[i]!, tp[i]! + fn[i]!),
      f1: ratio(2 * tp[i]!, 2 * tp[i]! + fp[i]! + fn[i]!),
      support: support[i]!
    };
  });
  return { confusion_matrix: { labels: classes.map(key), matrix }, per_class: perClass };
}

export interface Curves {
  roc?: { fpr: number[]; tpr: number[] };
  calibration?: { predicted: number; observed: number; count: number }[];
}

/** scikit-learn's roc_curve (drop_intermediate=True): false and true positive rates. */
export function rocCurve(positive: readonly boolean[], scores: readonly number[]): { fpr: number[]; tpr: number[] } {
  const order = [...scores.keys()].sort((a, b) => scores[b]! - scores[a]!);
  const tps: number[] = [];
  const fps: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    if (positive[order[k]!]) tp++;
    else fp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[order[k]!]) {
      tps.push(tp);
      fps.push(fp);
    }
  }
  // keep the corners of the curve only (scikit-learn's drop_intermediate)
  const keep = tps
    .map((_, i) => i)
    .filter((i) => i === 0 || i === tps.length - 1 || fps[i + 1]! - 2 * fps[i]! + fps[i - 1]! !== 0 || tps[i + 1]! - 2 * tps[i]! + tps[i - 1]! !== 0);
  const allT = tps[tps.length - 1]!;
  const allF = fps[fps.length - 1]!;
  return { fpr: [0, ...keep.map((i) => fps[i]! / allF)], tpr: [0, ...keep.map((i) => tps[i]! / allT)] };
}

/** ROC and calibration curves of the positive class (binary models), thinned for charts. */
export function curves(yTrue: readonly ClassLabel[], scores: readonly (readonly number[])[] | null, classes: readonly ClassLabel[], points = 50): Curves {
  if (classes.length !== 2 || !scores) return {};
  const positive = yTrue.map((y) => key(y) === key(classes[1]!));
  if (positive.every(Boolean) || !positive.some(Boolean)) return {};
  const p1 = scores.map((s) => s[1]!);
  const { fpr, tpr } = rocCurve(positive, p1);
  const take = Math.min(points, fpr.length);
  const keep = [...new Set(Array.from({ length: take }, (_, i) => Math.trunc(take === 1 ? 0 : (i * (fpr.length - 1)) / (take - 1))))];
  const sums = Array.from({ length: 10 }, () => ({ p: 0, o: 0, n: 0 }));
  p1.forEach((p, i) => {
    // numpy.digitize on numpy.linspace(0, 1, 11)'s inner edges (e * 0.1, bit for bit: 0.3 is 0.30000000000000004)
    let b = 0;
    for (let e = 1; e <= 9; e++) if (p >= e * 0.1) b = e;
    sums[b]!.p += p;
    sums[b]!.o += positive[i] ? 1 : 0;
    sums[b]!.n += 1;
  });
  return {
    roc: { fpr: keep.map((i) => fpr[i]!), tpr: keep.map((i) => tpr[i]!) },
    calibration: sums.filter((s) => s.n > 0).map((s) => ({ predicted: s.p / s.n, observed: s.o / s.n, count: s.n }))
  };
}

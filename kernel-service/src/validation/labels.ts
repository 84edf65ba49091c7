/**
 * The true labels (or values) sent with `validate`, checked against the rows and the model:
 * one per row; class labels of the classes' type (numbers, or strings); regression targets
 * finite numbers. A wrong one is refused naming its position and what was expected.
 */
import { ServiceError } from '../errors.js';
import type { ClassLabel } from './model-outputs.js';

const badLabels = (issue: string): ServiceError => new ServiceError('NBD_ERR_BAD_REQUEST', { issues: issue });

function shown(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

export function checkLabelCount(labels: readonly unknown[], rows: number): void {
  if (labels.length !== rows) throw badLabels(`labels has ${labels.length} values for ${rows} rows; give one label per row`);
}

/** Class labels with the classes' type (a numeric class may come as "1"; a string class as 1). */
export function classLabels(labels: readonly unknown[], classes: readonly ClassLabel[]): ClassLabel[] {
  const numeric = classes.length > 0 && classes.every((c) => typeof c === 'number');
  return labels.map((v, i) => {
    if (numeric) {
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      if (typeof v === 'boolean') return Number(v);
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
      throw badLabels(`labels[${i}] is ${shown(v)}, but the model's classes are numbers (${classes.slice(0, 8).join(', ')}); send class labels`);
    }
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw badLabels(`labels[${i}] is ${shown(v)}, but the model's classes are strings (${classes.slice(0, 8).map(shown).join(', ')}); send class labels`);
  });
}

/** Regression targets: finite numbers. */
export function targetValues(labels: readonly unknown[]): number[] {
  return labels.map((v, i) => {
    const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!Number.isFinite(x)) throw badLabels(`labels[${i}] is ${shown(v)}, but a regression model's labels are finite numbers (the true values)`);
    return x;
  });
}

/**
 * Does the validation data look like the training data? Per feature, against the version's
 * stored training profile (its reservoir sample): Kolmogorov–Smirnov (numeric) or
 * chi-square (categorical), drifted when p < 0.05, with the service's SciPy-exact tests.
 */
import { chiSquare, ks2samp } from '../monitoring/drift-statistics.js';
import type { FeatureColumns } from './feature-columns.js';
import type { FeatureDrift } from './report.js';

const P_VALUE = 0.05;

export function featureDrift(columns: FeatureColumns, profile: Record<string, unknown> | null): Record<string, FeatureDrift> {
  const out: Record<string, FeatureDrift> = {};
  const features = (profile?.features ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, ref] of Object.entries(features)) {
    const sample = ref.sample as unknown[] | undefined;
    const values = columns.get(name)?.filter((v) => v !== null && !(typeof v === 'number' && Number.isNaN(v)));
    if (!sample?.length || !values?.length) continue;
    let statistic: number;
    let p: number;
    let method: string;
    if (ref.kind === 'numeric') {
      const numbers = values.map(Number).filter((v) => !Number.isNaN(v));
      if (!numbers.length) continue;
      ({ statistic, pValue: p } = ks2samp(numbers, sample.map(Number)));
      method = 'ks';
    } else {
      const categories = (ref.categories ?? {}) as Record<string, number>;
      const levels = Object.keys(categories);
      const counts = new Map<string, number>();
      for (const v of values) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
      const other = [...counts].filter(([k]) => !(k in categories)).reduce((a, [, c]) => a + c, 0);
      const observed = [...levels.map((c) => counts.get(c) ?? 0), other];
      // categories never seen in training get a small expected share rather than zero
      const share = [...levels.map((c) => categories[c]!), Number(ref.other_rate ?? 0)].map((s) => (s > 0 ? s : 0.5 / Math.max(Number(ref.count ?? 1), 1)));
      const total = observed.reduce((a, b) => a + b, 0);
      const shareSum = share.reduce((a, b) => a + b, 0);
      ({ statistic, pValue: p } = chiSquare(observed, share.map((s) => (s / shareSum) * total)));
      method = 'chi_square';
    }
    out[name] = { method, statistic, p_value: Number.isNaN(p) ? null : p, threshold: P_VALUE, drifted: p < P_VALUE };
  }
  return out;
}

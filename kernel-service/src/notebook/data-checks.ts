/**
 * Does the validation data look like the training data? Per feature, against the training
 * profile's sample: Kolmogorov–Smirnov (numeric) or chi-square (categorical), drifted when
 * p < 0.05 — python-bridge/nbdeploy/data_checks.py, with the service's own SciPy-exact tests.
 */
import { chiSquare, ks2samp } from '../monitoring/drift-statistics.js';
import type { Profile } from './profile.js';
import { columnsOf, type Rows } from './rows.js';
import type { DataChecks } from './types.js';

const P_VALUE = 0.05;

export function featureDrift(rows: Rows, featureNames: readonly string[] | null, profile: Profile | null): DataChecks['drift'] {
  const out: DataChecks['drift'] = {};
  if (!profile) return out;
  const columns = columnsOf(rows, featureNames);
  for (const [name, ref] of Object.entries(profile.features) as Array<[string, Record<string, unknown>]>) {
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
      const categories = ref.categories as Record<string, number>;
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

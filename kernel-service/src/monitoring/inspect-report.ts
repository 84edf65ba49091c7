/**
 * Triage of a drifted window (`inspect`): the rows a deployment captured in a span, one feature
 * against the version's training profile — its distribution (a histogram on the profile's bins,
 * or category shares), the quantiles or categories that moved most, the drift test monitoring
 * runs for that feature (driftTest on the profile's sample, as status.ts and series.ts: the
 * same method, statistic and threshold), the integrity events of the span's monitoring windows,
 * and every other feature ranked by its drift on the same rows ("moved together").
 *
 * Features the model card flags as personal data were captured only as salted hashes: a
 * categorical one is compared as categories of hashes (the profile's sample hashed with the
 * same salt, so no clear value appears), a numeric one is not compared (a note says why).
 * Pure: the monitoring worker (monitor-state.ts) reads the rows, the windows and the salt.
 */
import { percentile } from '../validation/bootstrap.js';
import { type IntegrityKind, INTEGRITY_KINDS } from '../protocol/integrity.js';
import { countCategories } from './categorical.js';
import type { CapturedTable } from './captured-table.js';
import { type DriftMethod, type DriftResult, driftTest } from './drift-statistics.js';
import { IntegrityCounts } from './integrity-counts.js';
import type { Kind, VersionPlan } from './version-plan.js';
import type { WindowState } from './window.js';

/** The profile's quantile levels when it has none (python-bridge/nbdeploy/profile.py's QUANTILES). */
const DEFAULT_LEVELS = [0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1];
/** Bins of a histogram built from the profile's sample when the profile has none (profile.py's HISTOGRAM_BINS). */
const SAMPLE_BINS = 20;
/** Categories listed at most (those that moved most). */
export const MAX_CATEGORIES = 30;
/** Other features listed at most under "moved together". */
export const MAX_MOVED_TOGETHER = 100;

/** A drift test as the report shows it (status's DriftEntry). */
export interface InspectTest {
  method: DriftMethod;
  statistic: number;
  p_value: number | null;
  threshold: number;
  drifted: boolean;
}

export interface InspectHistogram {
  /** The bin edges: the training profile's (`source` "profile"), or equal-width over its sample's range ("sample"). */
  edges: number[];
  source: 'profile' | 'sample';
  /** Share of training values per bin. */
  training: number[];
  /** Share of captured values per bin (of all finite captured values, those outside the edges included). */
  captured: number[];
  /** Shares of captured values below the first edge and above the last. */
  below: number;
  above: number;
}

export interface InspectQuantile {
  q: number;
  training: number;
  captured: number;
  /** captured − training */
  shift: number;
  /** The shift in training standard deviations (null when they are 0 or unknown). */
  shift_sd: number | null;
}

export interface InspectCategory {
  category: string;
  /** Shares of non-missing values. */
  training: number;
  captured: number;
  /** captured − training */
  change: number;
}

export interface InspectFeature {
  name: string;
  kind: Kind;
  /** Flagged as personal data: captured only as salted hashes. */
  personal: boolean;
  /** The captured values it was tested on (finite numbers, or non-missing categories). */
  values: number;
  /** Share of captured rows missing it; the training null rate. */
  nulls: { captured: number | null; training: number | null };
  test: InspectTest | null;
  /** Why there is no test or distribution, when there is none. */
  note: string | null;
  histogram?: InspectHistogram;
  /** Most moved first. */
  quantiles?: InspectQuantile[];
  /** Most moved first, at most MAX_CATEGORIES. */
  categories?: InspectCategory[];
  /** Captured categories the training sample does not have. */
  new_categories?: number;
}

export interface InspectIntegrity {
  /** Values each kind concerned in the span (kinds with none left out). */
  counts: Partial<Record<IntegrityKind, number>>;
  /** Per input or feature with violations: counts and the latest detail. */
  features: Array<{ feature: string; counts: Partial<Record<IntegrityKind, number>>; detail: string | null }>;
  /** Per monitoring window (start, ms) and kind. */
  windows: Array<{ t: number; kind: IntegrityKind; count: number }>;
}

export interface MovedFeature extends InspectTest {
  feature: string;
  kind: Kind;
}

/** What `inspect` found: the panel's payload (application/vnd.nbdeploy.inspect+json) without its chart. */
export interface InspectFindings {
  model: string;
  version: number;
  from: string;
  to: string;
  /** Captured rows (served by `version`) the report reads, and their requests. */
  rows: number;
  requests: number;
  /** More rows were captured in the span than the limit: the oldest were read. */
  truncated: boolean;
  /** Whether the feature was picked as the most drifted (none was asked for). */
  picked: boolean;
  feature: InspectFeature;
  integrity: InspectIntegrity;
  moved_together: MovedFeature[];
  /** Features tested on these rows, and how many of them drifted (the one inspected included). */
  tested: number;
  drifted: number;
}

export interface InspectInput {
  model: string;
  version: number;
  from: number;
  to: number;
  /** The captured rows served by `version` in the span (not shadow answers). */
  table: CapturedTable;
  truncated: boolean;
  plan: VersionPlan;
  /** The feature to inspect; undefined: the most drifted. It must be one of the plan's. */
  feature?: string;
  /** The monitoring windows overlapping the span (any version: integrity is the deployment's). */
  windows: readonly WindowState[];
  /** Capture's salted hash of a value (personal data); null when the service keeps no salt. */
  hashOf: ((value: string) => string) | null;
}

interface ProfileFeature {
  kind?: string;
  null_rate?: number;
  std?: number | null;
  quantiles?: Record<string, number>;
  histogram?: { edges?: number[]; counts?: number[] };
  categories?: Record<string, number>;
  sample?: unknown[];
}

export function inspectFindings(input: InspectInput): InspectFindings {
  const profile = ((input.plan.profile?.features ?? {}) as Record<string, ProfileFeature>);
  const compared = input.plan.features.map((f) => compareFeature(input, f.name, f.kind, profile[f.name] ?? {}));
  const ranked = compared.filter((c) => c.test !== null).sort(byDrift);
  const chosen = input.feature !== undefined ? compared.find((c) => c.name === input.feature) : (ranked[0] ?? compared[0]);
  if (!chosen) throw new Error(`version ${input.version} of "${input.model}" has no feature${input.feature ? ` "${input.feature}"` : 's'} in its training profile`);
  const feature = details(chosen, profile[chosen.name] ?? {});
  const requests = new Set(input.table.rows.map((r) => String(r[1]).replace(/#\d+$/, ''))).size;
  return {
    model: input.model,
    version: input.version,
    from: new Date(input.from).toISOString(),
    to: new Date(input.to).toISOString(),
    rows: input.table.rows.length,
    requests,
    truncated: input.truncated,
    picked: input.feature === undefined,
    feature,
    integrity: integrityOf(input.windows, input.from, input.to, input.plan.personal),
    moved_together: ranked
      .filter((c) => c.name !== chosen.name)
      .slice(0, MAX_MOVED_TOGETHER)
      .map((c) => ({ feature: c.name, kind: c.kind, ...c.test! })),
    tested: ranked.length,
    drifted: ranked.filter((c) => c.test!.drifted).length
  };
}

/** One feature's captured values against its reference, tested. */
interface Compared {
  name: string;
  kind: Kind;
  personal: boolean;
  numbers: number[];
  categories: string[];
  missing: number;
  rows: number;
  reference: { numbers: number[] } | { categories: string[] } | null;
  test: InspectTest | null;
  note: string | null;
}

function compareFeature(input: InspectInput, name: string, kind: Kind, spec: ProfileFeature): Compared {
  const column = input.table.columns.indexOf(name);
  const personal = input.plan.personal.has(name) || input.table.hashed.includes(name);
  const out: Compared = { name, kind, personal, numbers: [], categories: [], missing: 0, rows: input.table.rows.length, reference: null, test: null, note: null };
  if (column < 0) {
    out.note = `"${name}" is not among the captured inputs`;
    return out;
  }
  const values = input.table.rows.map((r) => r[column] ?? null);
  const sample = spec.sample ?? [];
  if (kind === 'numeric') {
    if (personal) {
      out.note = `"${name}" is personal data, captured only as salted hashes: its values cannot be compared with the training profile`;
      out.missing = values.filter((v) => v === null).length;
      return out;
    }
    for (const v of values) {
      if (typeof v === 'number' && Number.isFinite(v)) out.numbers.push(v);
      else out.missing++;
    }
    const reference = sample.map(Number).filter(Number.isFinite);
    out.reference = { numbers: reference };
    out.test = tested(() => driftTest('numeric', reference, out.numbers), out, reference.length, out.numbers.length);
    return out;
  }
  for (const v of values) {
    if (v === null) out.missing++;
    else out.categories.push(String(v));
  }
  let reference = sample.filter((s) => s !== null && s !== undefined).map(String);
  if (personal) {
    if (!input.hashOf) {
      out.note = `"${name}" is personal data, captured only as salted hashes, and this service keeps no salt to compare its training sample with`;
      return out;
    }
    reference = reference.map(input.hashOf);
  }
  out.reference = { categories: reference };
  out.test = tested(() => driftTest('categorical', countCategories(reference), countCategories(out.categories)), out, reference.length, out.categories.length);
  return out;
}

function tested(run: () => DriftResult, out: Compared, referenceSize: number, currentSize: number): InspectTest | null {
  if (referenceSize === 0) {
    out.note = `the training profile has no sample of "${out.name}" to test against`;
    return null;
  }
  if (currentSize === 0) {
    out.note = `no captured row has a value of "${out.name}"`;
    return null;
  }
  try {
    const r = run();
    return { method: r.method, statistic: r.statistic, p_value: r.pValue, threshold: r.threshold, drifted: r.drifted };
  } catch (error) {
    out.note = `"${out.name}" could not be tested: ${(error as Error).message}`;
    return null;
  }
}

/** How far past its threshold a test is: for p-values threshold / p, for distances statistic / threshold. */
function strength(t: InspectTest): number {
  if (t.p_value !== null) return t.threshold / Math.max(t.p_value, Number.MIN_VALUE);
  return t.statistic / (t.threshold > 0 ? t.threshold : 1);
}

/** Drifted first, then furthest past the threshold, then the larger statistic, then by name. */
function byDrift(a: Compared, b: Compared): number {
  const x = a.test!;
  const y = b.test!;
  return Number(y.drifted) - Number(x.drifted) || strength(y) - strength(x) || y.statistic - x.statistic || a.name.localeCompare(b.name);
}

function details(c: Compared, spec: ProfileFeature): InspectFeature {
  const feature: InspectFeature = {
    name: c.name,
    kind: c.kind,
    personal: c.personal,
    values: c.kind === 'numeric' ? c.numbers.length : c.categories.length,
    nulls: { captured: c.rows > 0 ? c.missing / c.rows : null, training: typeof spec.null_rate === 'number' ? spec.null_rate : null },
    test: c.test,
    note: c.note
  };
  if (!c.reference) return feature;
  if ('numbers' in c.reference) {
    if (c.numbers.length === 0 || c.reference.numbers.length === 0) return feature;
    feature.histogram = histogramOf(c.numbers, c.reference.numbers, spec);
    feature.quantiles = quantilesOf(c.numbers, c.reference.numbers, spec);
  } else {
    if (c.categories.length === 0 || c.reference.categories.length === 0) return feature;
    const training = shares(c.personal ? countCategories(c.reference.categories) : profileCategories(spec) ?? countCategories(c.reference.categories));
    const captured = shares(countCategories(c.categories));
    const names = new Set([...training.keys(), ...captured.keys()]);
    const rows = [...names].map((category) => {
      const t = training.get(category) ?? 0;
      const k = captured.get(category) ?? 0;
      return { category, training: t, captured: k, change: k - t };
    });
    rows.sort((a, b) => Math.abs(b.change) - Math.abs(a.change) || b.captured - a.captured || a.category.localeCompare(b.category));
    feature.categories = rows.slice(0, MAX_CATEGORIES);
    feature.new_categories = [...captured.keys()].filter((k) => !training.has(k)).length;
  }
  return feature;
}

/** The profile's category frequencies (shares of non-missing training values). */
function profileCategories(spec: ProfileFeature): Map<string, number> | null {
  const entries = Object.entries(spec.categories ?? {}).filter(([, v]) => typeof v === 'number' && v > 0);
  return entries.length > 0 ? new Map(entries) : null;
}

function shares(counts: ReadonlyMap<string | null, number> | Map<string, number>): Map<string, number> {
  let total = 0;
  for (const [k, n] of counts) if (k !== null) total += n;
  const out = new Map<string, number>();
  for (const [k, n] of counts) if (k !== null && total > 0) out.set(k, n / total);
  return out;
}

function histogramOf(values: number[], sample: number[], spec: ProfileFeature): InspectHistogram {
  const profileEdges = spec.histogram?.edges ?? [];
  const profileCounts = spec.histogram?.counts ?? [];
  const fromProfile = profileEdges.length >= 2 && profileCounts.length === profileEdges.length - 1 && profileCounts.some((c) => c > 0);
  const edges = fromProfile ? profileEdges : equalWidthEdges(sample);
  const training = fromProfile ? profileCounts : binCounts(sample, edges).counts;
  const trainingTotal = training.reduce((s, c) => s + c, 0);
  const captured = binCounts(values, edges);
  return {
    edges,
    source: fromProfile ? 'profile' : 'sample',
    training: training.map((c) => c / trainingTotal),
    captured: captured.counts.map((c) => c / values.length),
    below: captured.below / values.length,
    above: captured.above / values.length
  };
}

function equalWidthEdges(sample: number[]): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of sample) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi <= lo) hi = lo + 1;
  return Array.from({ length: SAMPLE_BINS + 1 }, (_, i) => (i === SAMPLE_BINS ? hi : lo + ((hi - lo) * i) / SAMPLE_BINS));
}

/** Counts per bin [e_i, e_i+1), the last bin closed (numpy's histogram), and the values outside. */
function binCounts(values: number[], edges: number[]): { counts: number[]; below: number; above: number } {
  const bins = edges.length - 1;
  const counts = new Array<number>(bins).fill(0);
  let below = 0;
  let above = 0;
  for (const v of values) {
    if (v < edges[0]!) below++;
    else if (v > edges[bins]!) above++;
    else {
      // The last edge ≤ v (binary search); v equal to the last edge goes in the last bin.
      let lo = 0;
      let hi = bins;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (edges[mid]! <= v) lo = mid;
        else hi = mid;
      }
      counts[lo]!++;
    }
  }
  return { counts, below, above };
}

function quantilesOf(values: number[], sample: number[], spec: ProfileFeature): InspectQuantile[] {
  const stated = Object.entries(spec.quantiles ?? {})
    .map(([q, v]) => [Number(q), v] as const)
    .filter(([q, v]) => Number.isFinite(q) && q >= 0 && q <= 1 && typeof v === 'number' && Number.isFinite(v));
  const levels = stated.length > 0 ? stated : DEFAULT_LEVELS.map((q) => [q, percentile(sample, q * 100)] as const);
  const sd = typeof spec.std === 'number' && spec.std > 0 ? spec.std : sampleDeviation(sample);
  const out = levels.map(([q, training]) => {
    const captured = percentile(values, q * 100);
    const shift = captured - training;
    return { q, training, captured, shift, shift_sd: sd > 0 ? shift / sd : null };
  });
  return out.sort((a, b) => Math.abs(b.shift) - Math.abs(a.shift) || a.q - b.q);
}

/** The sample standard deviation (ddof 1, as the profile's `std`). */
function sampleDeviation(values: number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1));
}

/** Details name values ("e.g. …"): those of personal data are withheld. */
export const WITHHELD_DETAIL = 'personal data: the values are not shown';

function integrityOf(windows: readonly WindowState[], from: number, to: number, personal: ReadonlySet<string>): InspectIntegrity {
  const merged = new IntegrityCounts();
  const perWindow: InspectIntegrity['windows'] = [];
  for (const w of windows) {
    if (!w.integrity || w.start >= to || w.start + w.seconds * 1000 <= from) continue;
    merged.merge({ counts: w.integrity, features: w.integrityFeatures ?? {} });
    for (const kind of INTEGRITY_KINDS) {
      const count = w.integrity[kind] ?? 0;
      if (count > 0) perWindow.push({ t: w.start, kind, count });
    }
  }
  perWindow.sort((a, b) => a.t - b.t || a.kind.localeCompare(b.kind));
  const counts = Object.fromEntries(INTEGRITY_KINDS.filter((k) => merged.counts[k] > 0).map((k) => [k, merged.counts[k]]));
  const features = [...merged.features]
    .map(([feature, f]) => ({
      feature,
      counts: Object.fromEntries(Object.entries(f.counts).filter(([, n]) => (n ?? 0) > 0)),
      detail: personal.has(feature) && f.detail !== null ? WITHHELD_DETAIL : f.detail
    }))
    .filter((f) => Object.keys(f.counts).length > 0)
    .sort((a, b) => total(b.counts) - total(a.counts) || a.feature.localeCompare(b.feature));
  return { counts, features, windows: mergeWindows(perWindow) };
}

/** Windows of several versions starting together are one row per kind. */
function mergeWindows(rows: InspectIntegrity['windows']): InspectIntegrity['windows'] {
  const out: InspectIntegrity['windows'] = [];
  for (const r of rows) {
    const last = out.at(-1);
    if (last && last.t === r.t && last.kind === r.kind) last.count += r.count;
    else out.push({ ...r });
  }
  return out;
}

function total(counts: Partial<Record<IntegrityKind, number>>): number {
  return Object.values(counts).reduce((s: number, n) => s + (n ?? 0), 0);
}

/**
 * How one version's tensors map to its training profile's features and to its predictions
 * (which output is the label, the scores, the value): read from the registry once per
 * version (versions are immutable) and shared by ingest, status and series. `load` reads a
 * plan; `get` answers from the plans read (ingest, which does no I/O, is handed events whose
 * plans were loaded first).
 */
import { personalDataOf } from '../registry/model-card.js';
import type { Tensor } from '../protocol/datatypes.js';
import type { Registry } from '../registry/registry.js';

export type Kind = 'numeric' | 'categorical';

export interface VersionPlan {
  features: Array<{ name: string; kind: Kind }>;
  byName: Map<string, { name: string; kind: Kind }>;
  /** Per input name: the features of its columns, or one feature for the whole input; null: not monitored. */
  inputs: Map<string, Array<{ name: string; kind: Kind }> | null>;
  labelOutput: string | null;
  scoresOutput: string | null;
  valueOutput: string | null;
  predictionKind: Kind | null;
  positive: string | null;
  profile: Record<string, unknown> | undefined;
  /** Features (or inputs) the model card flags as personal data: captured only as salted hashes. */
  personal: ReadonlySet<string>;
}

export class VersionPlans {
  constructor(private readonly _registry: Registry) {}

  /** The version's plan if it was loaded (null: the registry does not know the version); undefined if not loaded yet. */
  get(model: string, version: number): VersionPlan | null | undefined {
    return this._plans.get(planKey(model, version));
  }

  /** The version's plan, read from the registry the first time (concurrent callers share the read). */
  async load(model: string, version: number): Promise<VersionPlan | null> {
    const key = planKey(model, version);
    const cached = this._plans.get(key);
    if (cached !== undefined) return cached;
    let loading = this._loading.get(key);
    if (!loading) {
      loading = this._build(model, version).finally(() => this._loading.delete(key));
      this._loading.set(key, loading);
    }
    const plan = await loading;
    this._plans.set(key, plan);
    return plan;
  }

  private async _build(model: string, version: number): Promise<VersionPlan | null> {
    const record = await this._registry.getVersion(model, version);
    if (!record) return null;
    const profile = await this._registry.getProfile(model, version);
    const features: Array<{ name: string; kind: Kind }> = [];
    for (const [name, spec] of Object.entries((profile?.features ?? {}) as Record<string, { kind?: string }>)) {
      features.push({ name, kind: spec?.kind === 'categorical' ? 'categorical' : 'numeric' });
    }
    const meta = ((record.metadata.nbdeploy as Record<string, unknown> | undefined)?.signature ?? null) as {
      task?: string;
      classes?: unknown[] | null;
      label_output?: string | null;
      scores_output?: string | null;
      value_output?: string | null;
    } | null;
    const personal = personalDataOf(record);
    const outputs = record.signature.outputs;
    let labelOutput = meta?.label_output ?? null;
    let scoresOutput = meta?.scores_output ?? null;
    let valueOutput = meta?.value_output ?? null;
    if (!meta) {
      // A plain ONNX model: an integer or string output of one value per row is the label,
      // a float one with several columns the scores, a float one with one column the value.
      const perRow = (shape: number[]): boolean => shape.length === 1 || (shape.length === 2 && shape[1] === 1);
      const isFloat = (d: string): boolean => d.startsWith('FP');
      labelOutput = outputs.find((o) => !isFloat(o.datatype) && perRow(o.shape))?.name ?? null;
      scoresOutput = labelOutput ? (outputs.find((o) => isFloat(o.datatype) && o.shape.length === 2 && o.shape[1] !== 1)?.name ?? null) : null;
      valueOutput = labelOutput ? null : (outputs.find((o) => isFloat(o.datatype) && perRow(o.shape))?.name ?? null);
    }
    const classes = meta?.classes ?? null;
    return {
      features,
      byName: new Map(features.map((f) => [f.name, f])),
      inputs: new Map(),
      labelOutput,
      scoresOutput,
      valueOutput,
      predictionKind: labelOutput ? 'categorical' : valueOutput ? 'numeric' : null,
      positive: classes && classes.length === 2 ? String(classes[1]) : null,
      profile,
      personal
    };
  }

  private readonly _plans = new Map<string, VersionPlan | null>();
  private readonly _loading = new Map<string, Promise<VersionPlan | null>>();
}

function planKey(model: string, version: number): string {
  return `${model}\u0000${version}`;
}

/** The features of an input tensor's columns (its own name, or one input's columns in profile order); null: not monitored. */
export function inputColumns(plan: VersionPlan, tensor: Tensor, inputCount: number): Array<{ name: string; kind: Kind }> | null {
  const cached = plan.inputs.get(tensor.name);
  if (cached !== undefined) return cached;
  const width = tensor.shape.length === 1 ? 1 : tensor.shape.length === 2 ? tensor.shape[1]! : -1;
  let out: Array<{ name: string; kind: Kind }> | null = null;
  const own = plan.byName.get(tensor.name);
  if (own && width === 1) out = [own];
  else if (inputCount === 1 && width > 1 && width <= plan.features.length) out = plan.features.slice(0, width);
  plan.inputs.set(tensor.name, out);
  return out;
}

/** A served value as a category: null for missing values. */
export function categoryOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' && Number.isNaN(value)) return null;
  return String(value);
}

export function alignDown(at: number, seconds: number): number {
  const ms = seconds * 1000;
  return Math.floor(at / ms) * ms;
}

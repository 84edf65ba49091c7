/**
 * Validation gates: `{ f1: ">= 0.9", roc_auc: ">= baseline - 0.01", mae: "<= training * 1.1" }`.
 *
 * A condition compares (`>=`, `<=`, `>`, `<`, `==`) with a number, or with `baseline` (the
 * production version's value on the same data) or `training` (the value at register),
 * optionally shifted (`+ x`, `- x`) or scaled (`* x`).
 */
import { ServiceError } from '../errors.js';
import type { Metrics } from './metrics.js';

/** A gate that cannot be read, or one on a metric the report does not have: the request's fault. */
const gateError = (issue: string): ServiceError => new ServiceError('NBD_ERR_BAD_REQUEST', { issues: issue });

export type GateStatus = 'pass' | 'fail' | 'n/a';

export interface GateResult {
  metric: string;
  condition: string;
  value: number | null;
  threshold: number | null;
  status: GateStatus;
  detail: string;
}

type Op = '>=' | '<=' | '>' | '<' | '==';
const OPS: Record<Op, (a: number, b: number) => boolean> = {
  '>=': (a, b) => a >= b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '<': (a, b) => a < b,
  '==': (a, b) => a === b
};
const NUMBER = String.raw`[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?`;
const CONDITION = new RegExp(
  String.raw`^\s*(>=|<=|==|>|<)\s*(?:(?<ref>baseline|training)\s*(?:(?<arith>[-+*])\s*(?<k>${NUMBER}))?|(?<num>${NUMBER}))\s*$`
);

export interface ParsedGate {
  op: Op;
  ref: 'baseline' | 'training' | null;
  arith: '+' | '-' | '*' | null;
  k: number;
}

export function parseGate(condition: string, metric?: string): ParsedGate {
  const match = typeof condition === 'string' ? CONDITION.exec(condition) : null;
  if (!match) {
    const which = metric === undefined ? '' : ` of "${metric}"`;
    throw gateError(`cannot read the gate condition${which} ${JSON.stringify(condition)}; write e.g. ">= 0.9", ">= baseline - 0.01" or "<= training * 1.1"`);
  }
  const g = match.groups ?? {};
  const op = match[1] as Op;
  if (g.num !== undefined) return { op, ref: null, arith: null, k: Number(g.num) };
  return { op, ref: g.ref as 'baseline' | 'training', arith: (g.arith as ParsedGate['arith']) ?? null, k: Number(g.k ?? 0) };
}

/** 4 significant digits, as Python's `{:.4g}`. */
function g4(v: number): string {
  if (v === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(v)));
  if (exponent < -4 || exponent >= 4) {
    const [mantissa, exp] = v.toExponential(3).split('e');
    const m = mantissa!.replace(/\.?0+$/, '');
    const e = Number(exp);
    return `${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return String(Number(v.toPrecision(4)));
}

export function evaluateGates(
  gates: Readonly<Record<string, string>>,
  metrics: Metrics,
  baseline: Metrics | null,
  training: Metrics | null
): GateResult[] {
  const results: GateResult[] = [];
  for (const [metric, condition] of Object.entries(gates)) {
    const { op, ref, arith, k } = parseGate(condition, metric);
    if (!(metric in metrics)) {
      throw gateError(`gate on unknown metric "${metric}"; the report has ${Object.keys(metrics).sort().join(', ')}`);
    }
    const value = metrics[metric] ?? null;
    let threshold: number;
    if (ref === null) {
      threshold = k;
    } else {
      const base = (ref === 'baseline' ? baseline : training)?.[metric] ?? null;
      if (base === null) {
        const why = ref === 'baseline' ? 'no production version to compare with' : 'no training value of this metric';
        results.push({ metric, condition, value, threshold: null, status: 'n/a', detail: why });
        continue;
      }
      threshold = arith === '+' ? base + k : arith === '-' ? base - k : arith === '*' ? base * k : base;
    }
    if (value === null) {
      results.push({ metric, condition, value: null, threshold, status: 'fail', detail: `${metric} could not be computed on this data` });
      continue;
    }
    const ok = OPS[op](value, threshold);
    results.push({
      metric,
      condition,
      value,
      threshold,
      status: ok ? 'pass' : 'fail',
      detail: `${metric} = ${g4(value)} ${ok ? 'meets' : 'misses'} ${op} ${g4(threshold)}`
    });
  }
  return results;
}

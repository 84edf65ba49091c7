/**
 * The Python the notebook forms write into a new cell: calls of the notebook API
 * (`nd.export`, `nd.validate`, `nd.deploy`), so that the notebook itself records what was
 * done and can be run again. What the user typed is checked first: variable names must
 * be Python names, names and reasons become string literals, gates must read
 * `metric op value`. A mistake is a {@link SnippetError} naming the field.
 */

/** A form value that cannot go into the code; `field` names the form field. */
export class SnippetError extends Error {
  constructor(
    readonly field: string,
    message: string
  ) {
    super(message);
    this.name = 'SnippetError';
  }
}

/** A Python variable, possibly an attribute (`data.data`) — what a form's variable fields accept. */
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Python's keywords, which cannot be variables. */
const KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(' ')
);

/** The import every snippet starts with (harmless when already imported). */
export const IMPORT = 'import nbdeploy as nd';

/** A Python string literal (JSON's escapes are Python's too). */
export function pyString(text: string): string {
  return JSON.stringify(text);
}

/** Checks a variable field; returns the name trimmed. */
export function variable(value: string | undefined, field: string, label: string): string {
  const name = (value ?? '').trim();
  if (!name) {
    throw new SnippetError(field, `${label} is empty: give the name of a variable in the notebook.`);
  }
  if (!VARIABLE.test(name) || name.split('.').some(part => KEYWORDS.has(part))) {
    throw new SnippetError(field, `${label} "${name}" is not a Python variable name.`);
  }
  return name;
}

/** What to export: a variable holding a fitted model, or an ONNX file in the notebook's folder. */
export type ModelSource = { variable: string } | { file: string };

export interface IExportForm {
  /** The variable the artifact is assigned to, e.g. `art`. */
  artifact: string;
  model: ModelSource;
  /** Rows like the model's inputs (the training sample), e.g. `X_train`. */
  sample: string;
  /** The model's name in the registry. */
  name: string;
  /** The labels of the sample (`y=`), optional. */
  labels?: string;
}

export function exportCode(form: IExportForm): string {
  const artifact = variable(form.artifact, 'artifact', 'The artifact variable');
  const model = 'file' in form.model ? pyString(form.model.file) : variable(form.model.variable, 'model', 'The model variable');
  const sample = variable(form.sample, 'sample', 'The sample data variable');
  const name = form.name.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new SnippetError('name', `The model name "${form.name}" must start with a letter or digit and use only letters, digits, "_", "." and "-".`);
  }
  const labels = form.labels?.trim() ? `, y=${variable(form.labels, 'labels', 'The labels variable')}` : '';
  return `${IMPORT}\n${artifact} = nd.export(${model}, ${sample}, name=${pyString(name)}${labels})\n${artifact}`;
}

/** One gate, as `nd.validate(gates=...)` takes it: `{"f1": ">= 0.9"}`. */
export interface IGate {
  metric: string;
  condition: string;
}

/**
 * Reads gates written one per line or separated by commas: `f1 >= 0.9`,
 * `roc_auc >= baseline - 0.01`.
 */
export function parseGates(text: string): IGate[] {
  return text
    .split(/[\n,]/)
    .map(line => line.trim())
    .filter(Boolean)
    .map(line => {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|>|<)\s*(\S.*)$/.exec(line);
      if (!match) {
        throw new SnippetError('gates', `The gate "${line}" does not read "metric op value", e.g. "f1 >= 0.9" or "f1 >= baseline - 0.01".`);
      }
      return { metric: match[1], condition: `${match[2]} ${match[3].trim()}` };
    });
}

export interface IValidateForm {
  artifact: string;
  /** Holdout rows and their labels. */
  X: string;
  y: string;
  /** Gates as the user wrote them (see {@link parseGates}). */
  gates: string;
  /** The variable the report is assigned to. */
  report: string;
}

export function validateCode(form: IValidateForm): string {
  const artifact = variable(form.artifact, 'artifact', 'The artifact variable');
  const X = variable(form.X, 'X', 'The holdout data variable');
  const y = variable(form.y, 'y', 'The holdout labels variable');
  const report = variable(form.report, 'report', 'The report variable');
  const gates = parseGates(form.gates);
  const gateArg = gates.length ? `, gates={${gates.map(g => `${pyString(g.metric)}: ${pyString(g.condition)}`).join(', ')}}` : '';
  return `${IMPORT}\n${report} = nd.validate(${artifact}, ${X}, ${y}${gateArg})\n${report}`;
}

/** How a version goes out (docs/protocol.md, "Deploy"). */
export type DeployHow = 'production' | 'canary' | 'shadow' | 'staging';

export interface IDeployForm {
  artifact: string;
  how: DeployHow;
  /** The canary's share of traffic (%), for `canary`. */
  percent?: string;
  /** A reason to skip the validation gate (recorded), optional. */
  override?: string;
  /** The variable the deployment is assigned to. */
  deployment: string;
}

export function deployCode(form: IDeployForm): string {
  const artifact = variable(form.artifact, 'artifact', 'The artifact variable');
  const deployment = variable(form.deployment, 'deployment', 'The deployment variable');
  const args = [artifact];
  if (form.how === 'canary') {
    const percent = Number(form.percent);
    if (!form.percent?.trim() || !Number.isFinite(percent) || percent <= 0 || percent > 100) {
      throw new SnippetError('percent', `The canary share must be a number above 0 and at most 100, not "${form.percent ?? ''}".`);
    }
    args.push(`canary=${percent}`);
  } else if (form.how === 'shadow') {
    args.push('shadow=True');
  } else if (form.how === 'staging') {
    args.push('stage="staging"');
  } else if (form.how !== 'production') {
    throw new SnippetError('how', `"${form.how}" is not a way to deploy: production, canary, shadow or staging.`);
  }
  if (form.override?.trim()) {
    args.push(`override=${pyString(form.override.trim())}`);
  }
  return `${IMPORT}\n${deployment} = nd.deploy(${args.join(', ')})\n${deployment}`;
}

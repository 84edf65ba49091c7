/**
 * The Export, Validate and Deploy forms of the Models sidebar's notebook section: dialogs
 * whose fields start from what the kernel has (its fitted models, data, artifacts, ONNX
 * files) and which answer with the Python cell to insert. A field the code cannot use
 * (not a variable name, a gate that does not parse) is said in an error and the form
 * opens again with what the user typed.
 */

import { showErrorMessage } from '@jupyterlab/apputils';

import { type DeployHow, SnippetError, deployCode, exportCode, validateCode } from './code-snippets.js';
import type { IExportable } from './exportable-models.js';
import { type FormValues, type IField, showForm } from './form-dialog.js';

/** Nothing found yet (the kernel was not asked, or could not answer). */
export const NOTHING_FOUND: IExportable = { models: [], data: [], artifacts: [], onnx_files: [] };

/** The prefix of an ONNX file among the model choices. */
const FILE = 'file:';

/** The first of `preferred` that the kernel has, else the first variable of the list. */
function guess(names: string[], preferred: string[]): string {
  return preferred.find(name => names.includes(name)) ?? names[0] ?? '';
}

/** A variable field: a choice of what the kernel has, or text when it has nothing to offer. */
function variableField(name: string, label: string, names: string[], value: string, optional = false): IField {
  if (!names.length) {
    return { name, label, kind: 'text', value, placeholder: optional ? '(none)' : 'a variable in the notebook' };
  }
  const choices: [string, string][] = names.map(n => [n, n]);
  return { name, label, kind: 'choice', value, choices: optional ? [['', '(none)'], ...choices] : choices };
}

/** Shows a form until its values make code, or the user cancels. */
async function formToCode(title: string, accept: string, fields: (values: FormValues) => IField[], build: (values: FormValues) => string): Promise<string | null> {
  let values: FormValues = {};
  for (;;) {
    const answer = await showForm(title, fields(values), accept);
    if (!answer) {
      return null;
    }
    values = answer;
    try {
      return build(values);
    } catch (error) {
      if (!(error instanceof SnippetError)) {
        throw error;
      }
      await showErrorMessage(title, error.message);
    }
  }
}

/** The Export form's fields; `preset` is the model the user picked in the panel. */
export function exportFields(found: IExportable, values: FormValues, preset?: string): IField[] {
  const data = found.data.map(d => d.name);
  const models: [string, string][] = [
    ...found.models.map((m): [string, string] => [m.name, `${m.name} (${m.type}, ${m.kind})`]),
    ...found.onnx_files.map((f): [string, string] => [`${FILE}${f}`, `${f} (ONNX file)`])
  ];
  const model = values.model ?? preset ?? models[0]?.[0] ?? '';
  const defaultName = model.startsWith(FILE) ? model.slice(FILE.length).replace(/\.onnx$/, '') : model;
  return [
    models.length
      ? { name: 'model', label: 'Model', kind: 'choice', value: model, choices: models }
      : { name: 'model', label: 'Model variable', kind: 'text', value: model, placeholder: 'a fitted model, e.g. clf' },
    variableField('sample', 'Sample data (rows like the model’s inputs)', data, values.sample ?? guess(data, ['X_train', 'X'])),
    variableField('labels', 'Labels of the sample (y, optional)', data, values.labels ?? guess(data, ['y_train', 'y']), true),
    { name: 'name', label: 'Name in the registry', kind: 'text', value: values.name ?? defaultName.replace(/[^A-Za-z0-9_.-]/g, '-') },
    { name: 'artifact', label: 'Artifact variable', kind: 'text', value: values.artifact ?? 'art' }
  ];
}

export function exportFromValues(values: FormValues): string {
  const model = values.model.startsWith(FILE) ? { file: values.model.slice(FILE.length) } : { variable: values.model };
  return exportCode({ artifact: values.artifact, model, sample: values.sample, name: values.name, labels: values.labels });
}

export function validateFields(found: IExportable, values: FormValues): IField[] {
  const data = found.data.map(d => d.name);
  const artifacts = found.artifacts.map(a => a.name);
  return [
    variableField('artifact', 'Artifact', artifacts, values.artifact ?? (guess(artifacts, ['art']) || 'art')),
    variableField('X', 'Holdout data (X)', data, values.X ?? guess(data, ['X_holdout', 'X_test', 'X_val', 'X_valid'])),
    variableField('y', 'Holdout labels (y)', data, values.y ?? guess(data, ['y_holdout', 'y_test', 'y_val', 'y_valid'])),
    {
      name: 'gates',
      label: 'Gates (one per line)',
      kind: 'lines',
      value: values.gates ?? '',
      placeholder: 'f1 >= 0.9\nroc_auc >= baseline - 0.01',
      help: 'metric, comparison, value; "baseline" is the production version’s metric on the same data.'
    },
    { name: 'report', label: 'Report variable', kind: 'text', value: values.report ?? 'report' }
  ];
}

export function validateFromValues(values: FormValues): string {
  return validateCode({ artifact: values.artifact, X: values.X, y: values.y, gates: values.gates, report: values.report });
}

export function deployFields(found: IExportable, values: FormValues): IField[] {
  const artifacts = found.artifacts.map(a => a.name);
  return [
    variableField('artifact', 'Artifact', artifacts, values.artifact ?? (guess(artifacts, ['art']) || 'art')),
    {
      name: 'how',
      label: 'Deploy as',
      kind: 'choice',
      value: values.how ?? 'production',
      choices: [
        ['production', 'production (needs a passing validation)'],
        ['canary', 'canary: a share of the traffic'],
        ['shadow', 'shadow: a copy of every request'],
        ['staging', 'staging: its versioned route only']
      ]
    },
    { name: 'percent', label: 'Canary share (%)', kind: 'number', value: values.percent ?? '10', min: 1, max: 100, step: 1, help: 'For a canary only.' },
    { name: 'override', label: 'Override reason (optional, recorded)', kind: 'text', value: values.override ?? '', placeholder: 'skips the validation gate' },
    { name: 'deployment', label: 'Deployment variable', kind: 'text', value: values.deployment ?? 'dep' }
  ];
}

export function deployFromValues(values: FormValues): string {
  return deployCode({ artifact: values.artifact, how: values.how as DeployHow, percent: values.percent, override: values.override, deployment: values.deployment });
}

/** Shows the Export form; resolves to the cell's code, or null. */
export function exportForm(found: IExportable, preset?: string): Promise<string | null> {
  return formToCode('Export a model', 'Insert and run', values => exportFields(found, values, preset), exportFromValues);
}

export function validateForm(found: IExportable): Promise<string | null> {
  return formToCode('Validate an artifact', 'Insert and run', values => validateFields(found, values), validateFromValues);
}

export function deployForm(found: IExportable): Promise<string | null> {
  return formToCode('Deploy an artifact', 'Insert and run', values => deployFields(found, values), deployFromValues);
}

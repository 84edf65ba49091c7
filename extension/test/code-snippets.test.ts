/** The Python the notebook forms insert: what the user typed, checked, as nbdeploy API calls. */
import { describe, expect, it } from 'vitest';

import { SnippetError, deployCode, exportCode, parseGates, validateCode } from '../src/code-snippets.js';
import { deployFields, deployFromValues, exportFields, exportFromValues, validateFields } from '../src/notebook-forms.js';
import type { IExportable } from '../src/exportable-models.js';

function errorOf(build: () => unknown): SnippetError {
  try {
    build();
  } catch (error) {
    if (error instanceof SnippetError) return error;
    throw error;
  }
  throw new Error('expected a SnippetError');
}

describe('exportCode', () => {
  it('should call nd.export with the model, sample, name and labels', () => {
    expect(exportCode({ artifact: 'art', model: { variable: 'clf' }, sample: 'X_train', name: 'cancer', labels: 'y_train' })).toBe(
      'import nbdeploy as nd\nart = nd.export(clf, X_train, name="cancer", y=y_train)\nart'
    );
  });

  it('should leave out y= without labels and quote an ONNX file', () => {
    expect(exportCode({ artifact: 'art', model: { file: 'my "model".onnx' }, sample: 'X', name: 'm-1', labels: ' ' })).toBe(
      'import nbdeploy as nd\nart = nd.export("my \\"model\\".onnx", X, name="m-1")\nart'
    );
  });

  it('should refuse what is not a variable, naming the field', () => {
    const error = errorOf(() => exportCode({ artifact: 'art', model: { variable: 'my model' }, sample: 'X', name: 'm' }));
    expect(error.field).toBe('model');
    expect(error.message).toBe('The model variable "my model" is not a Python variable name.');
    expect(errorOf(() => exportCode({ artifact: 'class', model: { variable: 'clf' }, sample: 'X', name: 'm' })).field).toBe('artifact');
    expect(errorOf(() => exportCode({ artifact: 'art', model: { variable: 'clf' }, sample: '', name: 'm' })).message).toMatch(/sample data variable is empty/);
    expect(errorOf(() => exportCode({ artifact: 'art', model: { variable: 'clf' }, sample: 'X', name: 'a b"); import os' })).field).toBe('name');
  });

  it('should accept attribute access', () => {
    expect(exportCode({ artifact: 'art', model: { variable: 'search.best_estimator_' }, sample: 'data.data', name: 'm' })).toContain(
      'nd.export(search.best_estimator_, data.data, name="m")'
    );
  });
});

describe('parseGates', () => {
  it('should read one gate per line or comma', () => {
    expect(parseGates('f1 >= 0.9\nroc_auc>=baseline - 0.01, mae < 3\n\n')).toEqual([
      { metric: 'f1', condition: '>= 0.9' },
      { metric: 'roc_auc', condition: '>= baseline - 0.01' },
      { metric: 'mae', condition: '< 3' }
    ]);
  });

  it('should say which gate does not parse', () => {
    const error = errorOf(() => parseGates('f1 >= 0.9\nf1 is high'));
    expect(error.field).toBe('gates');
    expect(error.message).toContain('"f1 is high"');
  });
});

describe('validateCode', () => {
  it('should call nd.validate with the holdout and the gates as a dict', () => {
    expect(validateCode({ artifact: 'art', X: 'X_holdout', y: 'y_holdout', gates: 'f1 >= 0.9\nroc_auc >= 0.95', report: 'report' })).toBe(
      'import nbdeploy as nd\nreport = nd.validate(art, X_holdout, y_holdout, gates={"f1": ">= 0.9", "roc_auc": ">= 0.95"})\nreport'
    );
    expect(validateCode({ artifact: 'art', X: 'X', y: 'y', gates: '', report: 'rep' })).toBe('import nbdeploy as nd\nrep = nd.validate(art, X, y)\nrep');
  });
});

describe('deployCode', () => {
  it('should deploy to production, as a canary, a shadow or to staging', () => {
    expect(deployCode({ artifact: 'art', how: 'production', deployment: 'dep' })).toBe('import nbdeploy as nd\ndep = nd.deploy(art)\ndep');
    expect(deployCode({ artifact: 'art2', how: 'canary', percent: '20', deployment: 'dep' })).toContain('nd.deploy(art2, canary=20)');
    expect(deployCode({ artifact: 'art', how: 'shadow', deployment: 'dep' })).toContain('nd.deploy(art, shadow=True)');
    expect(deployCode({ artifact: 'art', how: 'staging', deployment: 'dep' })).toContain('nd.deploy(art, stage="staging")');
  });

  it('should pass an override reason as a string, and refuse a canary share out of range', () => {
    expect(deployCode({ artifact: 'art', how: 'production', override: ' hotfix "approved" ', deployment: 'dep' })).toContain(
      'nd.deploy(art, override="hotfix \\"approved\\"")'
    );
    expect(errorOf(() => deployCode({ artifact: 'art', how: 'canary', percent: '120', deployment: 'dep' })).field).toBe('percent');
    expect(errorOf(() => deployCode({ artifact: 'art', how: 'canary', percent: '', deployment: 'dep' })).field).toBe('percent');
  });
});

describe('notebook forms', () => {
  const found: IExportable = {
    models: [{ name: 'clf', kind: 'sklearn', type: 'Pipeline' }],
    data: [
      { name: 'X_holdout', type: 'DataFrame', shape: [10, 3] },
      { name: 'X_train', type: 'DataFrame', shape: [90, 3] },
      { name: 'y_holdout', type: 'Series', shape: [10] },
      { name: 'y_train', type: 'Series', shape: [90] }
    ],
    artifacts: [{ name: 'art', model: 'cancer' }],
    onnx_files: ['churn.onnx']
  };

  it('should start the Export form from what the kernel has', () => {
    const fields = exportFields(found, {});
    const value = (name: string) => fields.find(f => f.name === name)?.value;
    expect(fields.find(f => f.name === 'model')?.choices).toEqual([
      ['clf', 'clf (Pipeline, sklearn)'],
      ['file:churn.onnx', 'churn.onnx (ONNX file)']
    ]);
    expect([value('model'), value('sample'), value('labels'), value('name'), value('artifact')]).toEqual(['clf', 'X_train', 'y_train', 'clf', 'art']);
    const fromFile = exportFields(found, {}, 'file:churn.onnx');
    expect(fromFile.find(f => f.name === 'name')?.value).toBe('churn');
    expect(exportFromValues({ model: 'file:churn.onnx', sample: 'X_train', labels: '', name: 'churn', artifact: 'art' })).toContain(
      'nd.export("churn.onnx", X_train, name="churn")'
    );
  });

  it('should offer text fields when the kernel has nothing to offer', () => {
    const fields = exportFields({ models: [], data: [], artifacts: [], onnx_files: [] }, {});
    expect(fields.map(f => f.kind)).toEqual(['text', 'text', 'text', 'text', 'text']);
  });

  it('should guess the holdout and keep what the user typed', () => {
    const fields = validateFields(found, {});
    expect(fields.filter(f => ['artifact', 'X', 'y'].includes(f.name)).map(f => f.value)).toEqual(['art', 'X_holdout', 'y_holdout']);
    expect(validateFields(found, { X: 'X_train', gates: 'f1 >= 0.8' }).find(f => f.name === 'gates')?.value).toBe('f1 >= 0.8');
    expect(deployFields(found, {}).find(f => f.name === 'how')?.value).toBe('production');
    expect(deployFromValues({ artifact: 'art', how: 'canary', percent: '10', override: '', deployment: 'dep' })).toContain('nd.deploy(art, canary=10)');
  });
});

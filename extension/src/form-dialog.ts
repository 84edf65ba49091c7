/**
 * Forms in JupyterLab dialogs: labelled fields (text, number, choice, check box, several
 * lines) whose values the dialog returns. The Models sidebar's actions and the notebook's
 * Export / Validate / Deploy forms use them.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { h } from './dom.js';

export interface IField {
  /** The key of the field's value. */
  name: string;
  label: string;
  kind: 'text' | 'number' | 'choice' | 'check' | 'lines';
  /** The starting value (a check box: 'true' or ''). */
  value?: string;
  /** The choices of a `choice` field, in order: [value, label]. */
  choices?: [string, string][];
  /** Text shown under the field. */
  help?: string;
  placeholder?: string;
  min?: number;
  max?: number;
  step?: number;
}

/** The values a form returns: text for every field, 'true' / '' for check boxes. */
export type FormValues = Record<string, string>;

/** A form's body: its fields, and an optional paragraph above them. */
export class FormBody extends Widget implements Dialog.IBodyWidget<FormValues> {
  constructor(fields: IField[], intro?: Node | string) {
    super();
    this.addClass('jp-nbdeploy-Form');
    if (intro) {
      this.node.append(typeof intro === 'string' ? h('p', { className: 'jp-nbdeploy-formIntro' }, intro) : intro);
    }
    for (const field of fields) {
      this.node.append(this._field(field));
    }
  }

  getValue(): FormValues {
    const values: FormValues = {};
    for (const [name, input] of this._inputs) {
      values[name] = input instanceof HTMLInputElement && input.type === 'checkbox' ? (input.checked ? 'true' : '') : input.value;
    }
    return values;
  }

  /** A field's input, for tests and for focus. */
  input(name: string): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | undefined {
    return this._inputs.get(name);
  }

  private _field(field: IField): HTMLElement {
    const id = `jp-nbdeploy-field-${field.name}-${++FormBody._count}`;
    let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
    if (field.kind === 'choice') {
      input = h('select', { className: 'jp-mod-styled' });
      for (const [value, label] of field.choices ?? []) {
        const option = h('option', {}, label);
        option.value = value;
        input.append(option);
      }
      input.value = field.value ?? field.choices?.[0]?.[0] ?? '';
    } else if (field.kind === 'lines') {
      input = h('textarea', { className: 'jp-mod-styled' });
      input.rows = 3;
      input.value = field.value ?? '';
    } else {
      input = h('input', { className: 'jp-mod-styled' });
      input.type = field.kind === 'check' ? 'checkbox' : field.kind === 'number' ? 'number' : 'text';
      if (field.kind === 'check') {
        input.checked = field.value === 'true';
      } else {
        input.value = field.value ?? '';
      }
      if (field.min !== undefined) input.min = String(field.min);
      if (field.max !== undefined) input.max = String(field.max);
      if (field.step !== undefined) input.step = String(field.step);
    }
    if (field.placeholder && !(input instanceof HTMLSelectElement)) {
      input.placeholder = field.placeholder;
    }
    input.id = id;
    input.name = field.name;
    this._inputs.set(field.name, input);
    const label = h('label', { className: 'jp-nbdeploy-fieldLabel' }, field.label);
    label.htmlFor = id;
    return h(
      'div',
      { className: `jp-nbdeploy-field jp-mod-${field.kind}`, dataset: { field: field.name } },
      ...(field.kind === 'check' ? [input, label] : [label, input]),
      field.help ? h('div', { className: 'jp-nbdeploy-fieldHelp' }, field.help) : null
    );
  }

  private static _count = 0;
  private readonly _inputs = new Map<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>();
}

/** Shows a form; resolves to its values, or null when the user cancelled. */
export async function showForm(title: string, fields: IField[], accept: string, options: { intro?: Node | string; warn?: boolean } = {}): Promise<FormValues | null> {
  const body = new FormBody(fields, options.intro);
  const result = await showDialog<FormValues>({
    title,
    body,
    buttons: [Dialog.cancelButton(), options.warn ? Dialog.warnButton({ label: accept }) : Dialog.okButton({ label: accept })],
    focusNodeSelector: 'input, select, textarea'
  });
  return result.button.accept ? result.value : null;
}

/** Asks the user to confirm; resolves to whether they did. */
export async function confirm(title: string, body: Node | string, accept: string, warn = false): Promise<boolean> {
  const result = await showDialog({
    title,
    body: typeof body === 'string' ? body : new Widget({ node: h('div', {}, body) }),
    buttons: [Dialog.cancelButton(), warn ? Dialog.warnButton({ label: accept }) : Dialog.okButton({ label: accept })]
  });
  return result.button.accept;
}

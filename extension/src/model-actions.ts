/**
 * The Models sidebar's actions on deployments — promote, canary share, shadow, rollback,
 * undeploy, capture — each confirmed in a dialog, then sent to the service, which records them as
 * the Jupyter user (the Jupyter server's proxy says who). A refused promotion shows the
 * validation gate's reason and offers to override it with a reason that is recorded too.
 */

import { InputDialog, showErrorMessage } from '@jupyterlab/apputils';

import { describeCapture } from './deployment.js';
import { h } from './dom.js';
import { type FormValues, confirm, showForm } from './form-dialog.js';
import type { ModelsModel } from './models-model.js';
import { type IModel, heldReason } from './registry.js';
import { ServiceRequestError } from './service-client.js';

/** The service's code for a promotion the validation gate refused (docs/errors.md). */
export const VALIDATION_REQUIRED = 'NBD_ERR_VALIDATION_REQUIRED';

/** What `set_capture` takes: the share of requests kept (0: none) and, when keeping, for how many days. */
export interface ICaptureChange {
  rate: number;
  retention_days?: number;
}

/** Capture as the service takes it, or why not: `rate` a share in (0, 1] (0 turns capture off), `retention_days` > 0. */
export function checkCapture(rate: number, retentionDays?: number): ICaptureChange | { error: string } {
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
    return { error: `The rate is the share of requests kept, from 0 (capture off) to 1 (every request), not ${rate}.` };
  }
  if (rate === 0) {
    return { rate: 0 };
  }
  if (retentionDays !== undefined && !(Number.isFinite(retentionDays) && retentionDays > 0)) {
    return { error: `Captured requests must be kept for more than 0 days, not "${retentionDays}".` };
  }
  return retentionDays === undefined ? { rate } : { rate, retention_days: retentionDays };
}

/** The capture form's values as the service takes them, or why not (the texts as typed). */
export function readCaptureForm(values: FormValues): ICaptureChange | { error: string } {
  if (!values.enabled) {
    return { rate: 0 };
  }
  const percent = values.percent.trim() === '' ? NaN : Number(values.percent);
  if (!(Number.isFinite(percent) && percent > 0 && percent <= 100)) {
    return { error: `The share of requests kept must be a number more than 0 and at most 100 (%), not "${values.percent}". Uncheck the box to turn capture off.` };
  }
  const days = values.days.trim() === '' ? NaN : Number(values.days);
  if (!(Number.isFinite(days) && days > 0)) {
    return { error: `The days captured requests are kept must be a number more than 0, not "${values.days}".` };
  }
  return { rate: percent / 100, retention_days: days };
}

export class ModelActions {
  constructor(models: ModelsModel) {
    this._models = models;
  }

  /** Makes a version production; on a refusal by the gate, offers an override with a reason. */
  async promote(model: string, version: number): Promise<boolean> {
    const record = this._model(model)?.versions.find(v => v.version === version);
    const held = record ? heldReason(record) : null;
    const warning = held === null ? '' : ` Production is held: ${held}.`;
    if (!(await confirm(`Promote ${model} v${version}?`, `v${version} takes all of ${model}'s production traffic.${warning} ${this._recordedAs()}`, 'Promote'))) {
      return false;
    }
    try {
      await this._send({ type: 'promote', model, version });
      return true;
    } catch (error) {
      if (!(error instanceof ServiceRequestError && error.code === VALIDATION_REQUIRED)) {
        await this._failed(`Could not promote ${model} v${version}`, error);
        return false;
      }
      const values = await showForm(
        `The validation gate refused v${version}`,
        [{ name: 'reason', label: 'Override reason (recorded in the audit log)', kind: 'lines', placeholder: 'e.g. hotfix approved by the model owner' }],
        'Promote anyway',
        { intro: h('p', { className: 'jp-nbdeploy-error' }, error.message), warn: true }
      );
      if (!values) {
        return false;
      }
      const reason = values.reason.trim();
      if (!reason) {
        await showErrorMessage(`v${version} was not promoted`, 'Overriding the validation gate needs a reason, which the audit log keeps.');
        return false;
      }
      return this._attempt(`Could not promote ${model} v${version}`, { type: 'promote', model, version, override: reason });
    }
  }

  /** Sends `percent` of the model's traffic to a version (0 removes the canary); asks for the share when not given. */
  async setCanary(model: string, version: number, percent?: number): Promise<boolean> {
    if (percent === undefined) {
      const current = this._model(model)?.deployment.canary;
      const values = await showForm(
        `Canary for ${model} v${version}`,
        [
          {
            name: 'percent',
            label: 'Share of traffic (%)',
            kind: 'number',
            value: String(current?.version === version ? current.percent : 10),
            min: 0,
            max: 100,
            step: 1,
            help: `0 removes the canary. Production keeps the rest. ${this._recordedAs()}`
          }
        ],
        'Set canary'
      );
      if (!values) {
        return false;
      }
      percent = Number(values.percent);
    }
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
      await showErrorMessage('Canary share', `The canary share must be a number from 0 to 100, not "${percent}".`);
      return false;
    }
    return this._attempt(`Could not set the canary of ${model}`, { type: 'set_canary', model, version, percent });
  }

  /** Mirrors traffic to a version or stops; toggles when `enabled` is not given. */
  async setShadow(model: string, version: number, enabled?: boolean): Promise<boolean> {
    const isShadow = this._model(model)?.deployment.shadows.includes(version) ?? false;
    const on = enabled ?? !isShadow;
    const question = on
      ? `Every request to ${model} is also sent to v${version}; its answers go to monitoring only. ${this._recordedAs()}`
      : `v${version} stops receiving copies of ${model}'s requests. ${this._recordedAs()}`;
    if (!(await confirm(on ? `Shadow ${model} v${version}?` : `Stop shadowing ${model} v${version}?`, question, on ? 'Shadow' : 'Stop shadow'))) {
      return false;
    }
    return this._attempt(`Could not change the shadow of ${model}`, { type: 'set_shadow', model, version, enabled: on });
  }

  /**
   * Keeps a share of the model's served requests (inputs and answers, for nd.inspect and
   * nd.replay) for some days, or stops keeping them (`rate` 0); asks in a form when not given.
   */
  async setCapture(model: string, change?: { rate: number; retention_days?: number }): Promise<boolean> {
    let checked: ICaptureChange | { error: string };
    if (change === undefined) {
      const current = this._model(model)?.deployment.capture ?? null;
      const values = await showForm(
        `Capture for ${model}`,
        [
          {
            name: 'enabled',
            label: 'Keep a share of the served requests',
            kind: 'check',
            value: 'true',
            help: current
              ? `Now: ${describeCapture(current)}. Unchecked, nothing more is kept (what is kept stays until its retention ends).`
              : 'Inputs and answers, for nd.inspect and nd.replay. Features the model card flags as personal data are kept as salted hashes.'
          },
          // No min, max or step: the browser would only disable the button; readCaptureForm says what is wrong.
          { name: 'percent', label: 'Share of requests kept (%)', kind: 'number', value: String(current ? Number((current.rate * 100).toFixed(4)) : 10) },
          { name: 'days', label: 'Kept for (days)', kind: 'number', value: String(current?.retention_days ?? 7), help: this._recordedAs() }
        ],
        'Set capture'
      );
      if (!values) {
        return false;
      }
      checked = readCaptureForm(values);
    } else {
      checked = checkCapture(change.rate, change.retention_days);
    }
    if ('error' in checked) {
      await showErrorMessage(`Capture for ${model} was not changed`, checked.error);
      return false;
    }
    return this._attempt(`Could not change the capture of ${model}`, { type: 'set_capture', model, ...checked });
  }

  /** Returns production to the previous production version. */
  async rollback(model: string): Promise<boolean> {
    const production = this._model(model)?.deployment.production;
    const current = production === null || production === undefined ? '' : ` from v${production}`;
    if (!(await confirm(`Roll back ${model}?`, `Production goes back${current} to the previous production version. ${this._recordedAs()}`, 'Roll back', true))) {
      return false;
    }
    return this._attempt(`Could not roll back ${model}`, { type: 'rollback', model });
  }

  /** Archives a version, or — without one — stops serving the model. */
  async undeploy(model: string, version?: number): Promise<boolean> {
    const [title, body] =
      version === undefined
        ? [`Stop serving ${model}?`, `No route answers for ${model} until it is loaded again.`]
        : [`Undeploy ${model} v${version}?`, `v${version} is archived and takes no more traffic.`];
    if (!(await confirm(title, `${body} ${this._recordedAs()}`, 'Undeploy', true))) {
      return false;
    }
    return this._attempt(`Could not undeploy ${model}`, version === undefined ? { type: 'undeploy', model } : { type: 'undeploy', model, version });
  }

  /** Asks which model (from the palette, where no button said). */
  async pickModel(): Promise<string | null> {
    const names = this._models.models.map(m => m.name);
    if (!names.length) {
      await showErrorMessage('No models', 'The nbdeploy service has no models yet.');
      return null;
    }
    const result = await InputDialog.getItem({ title: 'Which model?', items: names });
    return result.button.accept ? result.value : null;
  }

  /** Asks which version of a model. */
  async pickVersion(model: string): Promise<number | null> {
    const versions = (this._model(model)?.versions ?? []).map(v => `v${v.version} (${v.stage})`);
    const result = await InputDialog.getItem({ title: `Which version of ${model}?`, items: versions });
    return result.button.accept && result.value ? Number(/^v(\d+)/.exec(result.value)?.[1]) : null;
  }

  private _model(name: string): IModel | undefined {
    return this._models.models.find(m => m.name === name);
  }

  private _recordedAs(): string {
    const user = this._models.client.user;
    return user ? `Recorded as ${user}.` : '';
  }

  private async _attempt(failure: string, message: Record<string, unknown> & { type: string }): Promise<boolean> {
    try {
      await this._send(message);
      return true;
    } catch (error) {
      await this._failed(failure, error);
      return false;
    }
  }

  private async _send(message: Record<string, unknown> & { type: string }): Promise<void> {
    const reply = await this._models.client.request<{ type: string; model: IModel }>(message);
    if (reply.model) {
      this._models.update(reply.model);
    }
  }

  private async _failed(title: string, error: unknown): Promise<void> {
    const text = error instanceof ServiceRequestError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);
    await showErrorMessage(title, text);
  }

  private readonly _models: ModelsModel;
}

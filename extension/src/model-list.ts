/**
 * The list of models in the Models sidebar: each model with its deployment (serving or
 * not, rollback), then its versions — stage, share of traffic, validation and review, why
 * a promotion to production is held, and the actions that fit the version — its recent
 * alerts, and its history when opened. Drawn from a {@link ModelsModel}; the action buttons
 * call back with the action, which the panel runs as a command.
 */

import { describeCapture } from './deployment.js';
import { formatPercent, formatTime, h } from './dom.js';
import { type ModelHistory, renderHistory } from './model-history.js';
import type { ModelsModel } from './models-model.js';
import { type IAlert, type IModel, type IModelVersion, heldReason, trafficOf, validationOf } from './registry.js';

/** What a button in the list asks for. */
export type ModelAction = 'promote' | 'set-canary' | 'set-shadow' | 'rollback' | 'undeploy' | 'set-capture';

export type ActionHandler = (action: ModelAction, model: IModel, version?: IModelVersion) => void;

/** The list's content: the models, or why there are none. */
export function renderModelList(models: ModelsModel, onAction: ActionHandler): HTMLElement {
  const list = h('div', { className: 'jp-nbdeploy-modelList' });
  if (!models.loaded) {
    list.append(h('p', { className: 'jp-nbdeploy-detail' }, 'Loading the models…'));
  } else if (models.error && !models.models.length) {
    list.append(h('p', { className: 'jp-nbdeploy-error' }, `Could not list the models: ${models.error}`));
  } else if (!models.models.length) {
    list.append(h('p', { className: 'jp-nbdeploy-detail' }, 'No models yet. Export one from a notebook (nd.export) to see it here.'));
  }
  for (const model of models.models) {
    list.append(renderModel(model, models.alerts(model.name), models.history, onAction));
  }
  return list;
}

function renderModel(model: IModel, alerts: readonly IAlert[], history: ModelHistory, onAction: ActionHandler): HTMLElement {
  const { deployment } = model;
  const firing = alerts.filter(a => a.state === 'firing').length;
  const summary = [
    deployment.serving ? (deployment.production !== null ? `production v${deployment.production}` : 'serving its newest version') : 'not served',
    deployment.canary ? `canary v${deployment.canary.version} ${formatPercent(deployment.canary.percent)}` : null,
    deployment.shadows.length ? `shadow ${deployment.shadows.map(v => `v${v}`).join(', ')}` : null,
    deployment.capture ? `capture ${formatPercent(deployment.capture.rate * 100)}` : null
  ].filter(Boolean);
  const capture = deployment.capture ? `Captures: ${describeCapture(deployment.capture)}` : 'Captures nothing';
  const versions = [...model.versions].sort((a, b) => b.version - a.version);
  const historyOpen = history.isOpen(model.name);
  const historyButton = h(
    'button',
    { className: 'jp-nbdeploy-action', title: `Who changed ${model.name}, when, from which notebook and cell`, dataset: { action: 'history' } },
    historyOpen ? 'Hide history' : 'History'
  );
  historyButton.type = 'button';
  historyButton.setAttribute('aria-expanded', String(historyOpen));
  historyButton.addEventListener('click', () => history.toggle(model.name));
  return h(
    'section',
    { className: 'jp-nbdeploy-model', dataset: { model: model.name } },
    h(
      'header',
      { className: 'jp-nbdeploy-modelHeader' },
      h('span', { className: 'jp-nbdeploy-modelName' }, model.name),
      firing ? h('span', { className: 'jp-nbdeploy-alertCount', title: `${firing} alert(s) firing` }, `⚠ ${firing}`) : null,
      h('span', { className: 'jp-nbdeploy-facts' }, summary.join(' · ')),
      h(
        'span',
        { className: 'jp-nbdeploy-modelActions' },
        actionButton('Roll back', 'rollback', `Return ${model.name} to its previous production version`, () => onAction('rollback', model), deployment.production === null),
        actionButton('Capture…', 'set-capture', `${capture}. Keep a share of ${model.name}'s requests for inspection and replay, or stop`, () => onAction('set-capture', model)),
        historyButton
      )
    ),
    h('ul', { className: 'jp-nbdeploy-versions' }, ...versions.map(version => renderVersion(model, version, onAction))),
    alerts.length ? renderAlerts(alerts) : null,
    historyOpen ? renderHistory(history, model.name) : null
  );
}

function renderVersion(model: IModel, version: IModelVersion, onAction: ActionHandler): HTMLElement {
  const traffic = trafficOf(model, version.version);
  const validation = validationOf(version);
  const isProduction = model.deployment.production === version.version;
  const isShadow = model.deployment.shadows.includes(version.version);
  const archived = version.stage === 'archived';
  const shares = traffic.map(share =>
    h(
      'span',
      { className: `jp-nbdeploy-trafficShare jp-mod-${share.role}`, dataset: { role: share.role } },
      share.role === 'shadow' ? 'shadow' : `${share.role} ${formatPercent(share.percent)}`
    )
  );
  const validationText =
    validation.status === 'none' ? 'not validated' : validation.status === 'passed' ? '✓ validation passed' : '✗ validation failed';
  const reviewText = validation.review ? (validation.review === 'approve' ? ' · ✓ approved' : ' · ✗ changes requested') : '';
  const review = version.validation?.review;
  const held = isProduction || archived ? null : heldReason(version);
  return h(
    'li',
    { className: 'jp-nbdeploy-version', dataset: { version: String(version.version), stage: version.stage } },
    h(
      'div',
      { className: 'jp-nbdeploy-versionLine' },
      h('span', { className: 'jp-nbdeploy-versionName' }, `v${version.version}`),
      h('span', { className: 'jp-nbdeploy-stage', dataset: { stage: version.stage } }, version.stage),
      ...shares
    ),
    h(
      'div',
      {
        className: `jp-nbdeploy-validationStatus jp-mod-${validation.status}`,
        dataset: { validation: validation.status, review: validation.review ?? 'none' },
        title: review ? `${review.decision === 'approve' ? 'Approved' : 'Changes requested'} by ${review.by} · ${formatTime(review.at)}${review.comment ? `: ${review.comment}` : ''}` : ''
      },
      validationText + reviewText
    ),
    held === null ? null : h('div', { className: 'jp-nbdeploy-gate jp-mod-held', dataset: { gate: 'held' } }, `Production held: ${held}`),
    h(
      'div',
      { className: 'jp-nbdeploy-versionActions' },
      isProduction
        ? null
        : actionButton('Promote', 'promote', held === null ? `Make v${version.version} production` : `Make v${version.version} production (held: ${held})`, () =>
            onAction('promote', model, version)
          ),
      isProduction || archived ? null : actionButton('Canary…', 'set-canary', `Send a share of ${model.name}'s traffic to v${version.version}`, () => onAction('set-canary', model, version)),
      isProduction || archived
        ? null
        : actionButton(isShadow ? 'Stop shadow' : 'Shadow', 'set-shadow', isShadow ? `Stop mirroring traffic to v${version.version}` : `Mirror ${model.name}'s traffic to v${version.version}`, () =>
            onAction('set-shadow', model, version)
          ),
      isProduction || archived ? null : actionButton('Undeploy', 'undeploy', `Archive v${version.version}`, () => onAction('undeploy', model, version))
    )
  );
}

function renderAlerts(alerts: readonly IAlert[]): HTMLElement {
  return h(
    'ul',
    { className: 'jp-nbdeploy-alerts' },
    ...alerts.map(alert =>
      h(
        'li',
        { className: `jp-nbdeploy-alert jp-mod-${alert.state === 'firing' ? alert.severity : 'resolved'}`, dataset: { state: alert.state, rule: alert.rule } },
        h('span', { className: 'jp-nbdeploy-alertState' }, alert.state === 'firing' ? `⚠ ${alert.severity}` : '✓ resolved'),
        ` ${alert.version !== undefined ? `v${alert.version} · ` : ''}${alert.message}`,
        h('span', { className: 'jp-nbdeploy-detail' }, ` · ${formatTime(alert.at)}`)
      )
    )
  );
}

function actionButton(label: string, action: ModelAction, title: string, onClick: () => void, disabled = false): HTMLButtonElement {
  const button = h('button', { className: 'jp-nbdeploy-action', title, dataset: { action } }, label);
  button.type = 'button';
  button.disabled = disabled;
  button.addEventListener('click', onClick);
  return button;
}

/**
 * Alerts reach the user wherever they are in JupyterLab: a notification (a toast, kept in
 * the notification centre) when a monitoring rule starts firing, with a button that opens
 * the Models sidebar.
 */

import { Notification } from '@jupyterlab/apputils';

import type { AlertBadge } from './alert-badge.js';
import type { ModelsModel } from './models-model.js';
import type { IAlert } from './registry.js';

/** How long a warning stays on screen; errors and critical alerts stay until dismissed. */
const WARNING_MS = 15_000;

/** The notification's text, e.g. `cancer v2: error_rate = 0.2 (threshold 0.05)`. */
export function alertText(alert: IAlert): string {
  const where = alert.version !== undefined ? `${alert.model} v${alert.version}` : alert.model;
  return `nbdeploy alert on ${where}: ${alert.message}`;
}

/** Shows one alert; returns the notification's id. */
export function notifyAlert(alert: IAlert, openModels: () => void): string {
  const serious = ['critical', 'error', 'high'].includes(alert.severity);
  const options = {
    autoClose: serious ? (false as const) : WARNING_MS,
    actions: [{ label: 'Show models', caption: 'Open the nbdeploy Models sidebar', callback: openModels }]
  };
  return serious ? Notification.error(alertText(alert), options) : Notification.warning(alertText(alert), options);
}

export interface IAlertWatch {
  /** Whether the Models panel is in view (then no badge: the user sees the alert there). */
  isPanelVisible: () => boolean;
  badge: AlertBadge;
  /** The `notifyAlerts` setting, read at each alert. */
  shouldNotify: () => boolean;
  openModels: () => void;
}

/** Notifies each alert that starts firing, and counts it on the badge while the panel is out of view. */
export function watchAlerts(models: ModelsModel, watch: IAlertWatch): void {
  models.alertFired.connect((_, alert) => {
    if (!watch.isPanelVisible()) {
      watch.badge.add();
    }
    if (watch.shouldNotify()) {
      notifyAlert(alert, watch.openModels);
    }
  });
}

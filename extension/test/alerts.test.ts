/**
 * Alerts from live events: read generically, notified once per firing (a JupyterLab
 * notification), counted on the sidebar tab's badge until the panel is opened. The
 * service's side of alerts is another part's; here a small fake client delivers the events.
 */
import { Notification } from '@jupyterlab/apputils';
import { Signal } from '@lumino/signaling';
import { Title, Widget } from '@lumino/widgets';
import { beforeEach, describe, expect, it } from 'vitest';

import { AlertBadge, BADGE_ATTRIBUTE } from '../src/alert-badge.js';
import { alertText, watchAlerts } from '../src/alert-notifications.js';
import { renderModelList } from '../src/model-list.js';
import { ModelsModel } from '../src/models-model.js';
import { alertFromEvent, type IModel } from '../src/registry.js';
import type { ILiveEvent, ServiceClient } from '../src/service-client.js';

const MODEL: IModel = {
  name: 'churn',
  created_at: '2026-11-28T10:00:00.000Z',
  deployment: { serving: true, production: 2, canary: null, shadows: [], updated_at: '2026-11-28T10:00:00.000Z' },
  versions: [{ version: 2, sha256: 'x', stage: 'production', created_at: '2026-11-28T10:00:00.000Z', created_by: 'ana', validation: null }]
};

/** A connected client whose `list` answers one model and whose events the test sends. */
class FakeClient {
  state = 'connected' as const;
  user = 'ana';
  lastError = null;
  stateChanged = new Signal<this, string>(this);
  handlers = new Map<string, (event: ILiveEvent) => void>();
  async request(message: { type: string }) {
    if (message.type !== 'list') throw new Error(`unexpected ${message.type}`);
    return { type: 'models', models: [MODEL] };
  }
  subscribe(model: string, handler: (event: ILiveEvent) => void) {
    this.handlers.set(model, handler);
    return { isDisposed: false, dispose: () => this.handlers.delete(model) };
  }
  send(data: unknown): void {
    // As the real client does: to the model's handlers and to those following every model.
    for (const key of ['churn', '*']) this.handlers.get(key)?.({ model: 'churn', kind: 'alert', data });
  }
}

const FIRING = {
  rule: 'error rate',
  metric: 'error_rate',
  severity: 'warning',
  state: 'firing',
  value: 0.2,
  threshold: 0.05,
  message: 'error_rate = 0.2 above 0.05',
  version: 2,
  fired_at: '2026-11-28T10:05:00.000Z'
};

async function loaded(): Promise<{ client: FakeClient; models: ModelsModel }> {
  const client = new FakeClient();
  const models = new ModelsModel(client as unknown as ServiceClient);
  await models.refresh();
  return { client, models };
}

beforeEach(() => {
  Notification.dismiss();
});

describe('alertFromEvent', () => {
  it('should read the fields it knows and compose a message when there is none', () => {
    const alert = alertFromEvent('churn', { rule: 'drift', metric: 'drift_share', value: 0.6, threshold: 0.3, fired_at: 'then', extra: [1] });
    expect(alert).toMatchObject({ model: 'churn', rule: 'drift', state: 'firing', severity: 'warning', message: 'drift_share = 0.6 (threshold 0.3)', at: 'then' });
    expect(alertFromEvent('churn', null)).toMatchObject({ rule: 'alert', state: 'firing' });
  });
});

describe('ModelsModel alerts', () => {
  it('should fire once per alert and keep the recent ones, newest first', async () => {
    const { client, models } = await loaded();
    const fired: string[] = [];
    models.alertFired.connect((_, alert) => fired.push(alert.message));
    client.send(FIRING);
    client.send(FIRING); // the same alert again (a renewed subscription)
    expect(fired).toEqual(['error_rate = 0.2 above 0.05']);
    client.send({ ...FIRING, state: 'resolved', resolved_at: '2026-11-28T10:09:00.000Z', message: 'error_rate back to 0.01' });
    expect(models.alerts('churn').map(a => a.state)).toEqual(['resolved', 'firing']);
    client.send({ ...FIRING, fired_at: '2026-11-28T11:00:00.000Z' }); // fires again later: a new alert
    expect(fired).toHaveLength(2);
    const list = renderModelList(models, () => undefined);
    expect(list.querySelector('.jp-nbdeploy-alertCount')?.textContent).toBe('⚠ 2');
    expect([...list.querySelectorAll('.jp-nbdeploy-alert')].map(li => (li as HTMLElement).dataset.state)).toEqual(['firing', 'resolved', 'firing']);
    models.dispose();
  });
});

describe('AlertBadge', () => {
  it('should count alerts on the tab title until cleared', () => {
    const title = new Title({ owner: new Widget() });
    const badge = new AlertBadge(title, 'nbdeploy models');
    badge.add();
    badge.add();
    expect(title.dataset[BADGE_ATTRIBUTE]).toBe('2');
    expect(title.caption).toBe('nbdeploy models — 2 new alerts');
    badge.clear();
    expect(title.dataset[BADGE_ATTRIBUTE]).toBeUndefined();
    expect(title.caption).toBe('nbdeploy models');
  });
});

describe('watchAlerts', () => {
  it('should notify a firing alert once, and badge it only while the panel is out of view', async () => {
    const { client, models } = await loaded();
    const title = new Title({ owner: new Widget() });
    const badge = new AlertBadge(title, 'nbdeploy models');
    let visible = false;
    let opened = 0;
    watchAlerts(models, { isPanelVisible: () => visible, badge, shouldNotify: () => true, openModels: () => opened++ });
    client.send(FIRING);
    client.send(FIRING);
    const notes = Notification.manager.notifications;
    expect(notes).toHaveLength(1);
    expect(notes[0].type).toBe('warning');
    expect(notes[0].message).toBe('nbdeploy alert on churn v2: error_rate = 0.2 above 0.05');
    expect(badge.count).toBe(1);
    // its "Show models" button opens the panel
    notes[0].options.actions?.[0].callback(new Event('click'));
    expect(opened).toBe(1);
    visible = true;
    client.send({ ...FIRING, rule: 'latency', severity: 'critical', message: 'p95 latency 900 ms', fired_at: 'later' });
    expect(badge.count).toBe(1);
    expect(Notification.manager.notifications.map(n => n.type).sort()).toEqual(['error', 'warning']);
    models.dispose();
  });

  it('should only badge when notifications are turned off', async () => {
    const { client, models } = await loaded();
    const badge = new AlertBadge(new Title({ owner: new Widget() }), 'nbdeploy models');
    watchAlerts(models, { isPanelVisible: () => false, badge, shouldNotify: () => false, openModels: () => undefined });
    client.send(FIRING);
    expect(Notification.manager.notifications).toHaveLength(0);
    expect(badge.count).toBe(1);
    expect(alertText(models.alerts('churn')[0])).toBe('nbdeploy alert on churn v2: error_rate = 0.2 above 0.05');
    models.dispose();
  });
});

describe('ModelsModel polling', () => {
  it('should redraw only when a list brings something new', async () => {
    const { client, models } = await loaded();
    let changes = 0;
    models.changed.connect(() => changes++);
    await models.refresh();
    expect(changes).toBe(0);
    MODEL.deployment.canary = { version: 2, percent: 5 };
    try {
      await models.refresh();
      expect(changes).toBe(1);
    } finally {
      MODEL.deployment.canary = null;
    }
    expect(client.handlers.has('*')).toBe(true); // one subscription follows every model
    models.dispose();
  });
});

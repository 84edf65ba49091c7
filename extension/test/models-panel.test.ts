/**
 * The Models sidebar against a real `nbdeploy serve` (through ServiceClient, as the browser
 * reaches it through the Jupyter proxy): models with versions, traffic and validation; the
 * actions confirmed in JupyterLab dialogs; live updates from other clients' changes.
 */
import { Widget } from '@lumino/widgets';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';

import { type ModelAction } from '../src/model-list.js';
import { ModelActions, checkCapture, readCaptureForm } from '../src/model-actions.js';
import { ModelsModel } from '../src/models-model.js';
import { ModelsPanel } from '../src/models-panel.js';
import { ServiceClient } from '../src/service-client.js';
import { IRIS_METADATA, fixture, variant } from '../../test/support/models.js';
import { NotebookClient } from '../../test/support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../../test/support/service.js';

let service: ServiceProcess;
let setup: NotebookClient;
const opened: { dispose(): void }[] = [];

function until<T>(check: () => T | null | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      const value = check();
      if (value) resolve(value);
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

/** The panel, attached to the page, wired as the plugin wires it (actions run with dialogs). */
function openPanel(url = `${service.wsUrl}?token=${service.token}`) {
  const client = new ServiceClient({ url, WebSocket: NodeWebSocket as unknown as typeof WebSocket, maxReconnectDelayMs: 200 });
  const models = new ModelsModel(client);
  const actions = new ModelActions(models);
  const done: Promise<boolean>[] = [];
  const run = (action: ModelAction, model: string, version?: number): Promise<boolean> => {
    switch (action) {
      case 'promote':
        return actions.promote(model, version!);
      case 'set-canary':
        return actions.setCanary(model, version!);
      case 'set-shadow':
        return actions.setShadow(model, version!);
      case 'rollback':
        return actions.rollback(model);
      case 'undeploy':
        return actions.undeploy(model, version);
      case 'set-capture':
        return actions.setCapture(model);
    }
  };
  const panel = new ModelsPanel({
    models,
    onAction: (action, model, version) => done.push(run(action, model.name, version?.version)),
    execute: () => undefined,
    refreshSeconds: 0
  });
  Widget.attach(panel, document.body);
  opened.push(panel, models, client);
  return { client, models, panel, done };
}

function versionNode(panel: ModelsPanel, model: string, version: number): HTMLElement | null {
  return panel.node.querySelector(`[data-model="${model}"] [data-version="${version}"]`);
}

function sharesOf(panel: ModelsPanel, model: string, version: number): string[] {
  return [...(versionNode(panel, model, version)?.querySelectorAll('.jp-nbdeploy-trafficShare') ?? [])].map(n => n.textContent ?? '');
}

function button(panel: ModelsPanel, selector: string): HTMLButtonElement {
  const node = panel.node.querySelector<HTMLButtonElement>(selector);
  if (!node) throw new Error(`no button ${selector}`);
  return node;
}

/** The open JupyterLab dialog. */
function dialog(): Promise<HTMLElement> {
  return until(() => document.querySelector<HTMLElement>('.jp-Dialog'), 'a dialog');
}

async function pressDialogButton(label: string): Promise<void> {
  const node = await dialog();
  const target = [...node.querySelectorAll<HTMLButtonElement>('.jp-Dialog-button')].find(b => b.textContent?.trim() === label);
  if (!target) throw new Error(`no dialog button "${label}" in: ${node.textContent}`);
  target.click();
  await until(() => !document.querySelector('.jp-Dialog') || document.querySelector('.jp-Dialog') !== node, 'the dialog to close');
}

async function audit(model: string): Promise<Array<{ action: string; actor: string; version: number; details: Record<string, unknown> }>> {
  const reply = await setup.call({ type: 'audit', model, limit: 50 });
  return reply.entries as never;
}

beforeAll(async () => {
  service = await startService();
  setup = await NotebookClient.connect(service);
  const iris = fixture('iris_classifier.onnx');
  await setup.register('cancer', iris, { metadata: IRIS_METADATA });
  await setup.register('cancer', variant(iris, 'v2'), { metadata: IRIS_METADATA });
  await setup.register('cancer', variant(iris, 'v3'), { metadata: IRIS_METADATA });
  await setup.promote('cancer', 1);
  await setup.call({ type: 'deploy', model: 'cancer', version: 2, canary_percent: 25 });
  await setup.register('wine', variant(iris, 'wine'), { metadata: IRIS_METADATA });
}, 60_000);

afterEach(() => {
  for (const item of opened.splice(0)) item.dispose();
  document.querySelectorAll('.jp-Dialog').forEach(d => d.remove());
});

afterAll(async () => {
  setup?.socket.close();
  await cleanup();
});

describe('ModelsPanel', () => {
  it('should list models with their versions, stage, traffic share and validation', async () => {
    const { panel } = openPanel();
    await until(() => panel.node.querySelector('[data-model="wine"]'), 'the models');
    expect(panel.node.querySelector('.jp-nbdeploy-connectionText')?.textContent).toBe('Connected as api');
    expect([...panel.node.querySelectorAll('[data-model]')].map(n => (n as HTMLElement).dataset.model)).toEqual(['cancer', 'wine']);
    expect(versionNode(panel, 'cancer', 1)?.dataset.stage).toBe('production');
    expect(sharesOf(panel, 'cancer', 1)).toEqual(['production 75%']);
    expect(sharesOf(panel, 'cancer', 2)).toEqual(['canary 25%']);
    expect(sharesOf(panel, 'cancer', 3)).toEqual([]);
    const validation = (v: number) => versionNode(panel, 'cancer', v)?.querySelector<HTMLElement>('[data-validation]')?.dataset.validation;
    expect([validation(1), validation(2), validation(3)]).toEqual(['passed', 'none', 'none']);
    expect(panel.node.querySelector('[data-model="cancer"] .jp-nbdeploy-facts')?.textContent).toBe('production v1 · canary v2 25%');
    // production offers no promote; the others do
    expect(versionNode(panel, 'cancer', 1)?.querySelector('[data-action="promote"]')).toBeNull();
    expect(versionNode(panel, 'cancer', 3)?.querySelector('[data-action="promote"]')).not.toBeNull();
  });

  it('should set a canary share from the number in its dialog', async () => {
    const { panel, done } = openPanel();
    await until(() => versionNode(panel, 'cancer', 2), 'version 2');
    button(panel, '[data-model="cancer"] [data-version="2"] [data-action="set-canary"]').click();
    const form = await dialog();
    const input = form.querySelector<HTMLInputElement>('input[name="percent"]')!;
    expect(input.value).toBe('25');
    input.value = '40';
    await pressDialogButton('Set canary');
    expect(await done[0]).toBe(true);
    await until(() => sharesOf(panel, 'cancer', 2)[0] === 'canary 40%', 'the new canary share');
    expect(sharesOf(panel, 'cancer', 1)).toEqual(['production 60%']);
  });

  it('should show the gate’s refusal of a promotion and promote with an override reason, recorded as the user', async () => {
    const { panel, done } = openPanel();
    await until(() => versionNode(panel, 'cancer', 3), 'version 3');
    button(panel, '[data-model="cancer"] [data-version="3"] [data-action="promote"]').click();
    await pressDialogButton('Promote');
    const refusal = await until(() => document.querySelector<HTMLElement>('.jp-Dialog .jp-nbdeploy-error'), 'the refusal');
    expect(refusal.textContent).toMatch(/validation/i);
    document.querySelector<HTMLTextAreaElement>('.jp-Dialog textarea[name="reason"]')!.value = 'hotfix approved by the owner';
    await pressDialogButton('Promote anyway');
    expect(await done[0]).toBe(true);
    await until(() => versionNode(panel, 'cancer', 3)?.dataset.stage === 'production', 'v3 in production');
    const entry = (await audit('cancer')).find(e => e.action === 'promote' && e.version === 3);
    expect(entry?.actor).toBe('api');
    expect(JSON.stringify(entry?.details)).toContain('hotfix approved by the owner');
  });

  it('should roll back from the sidebar after a confirmation, and not without one', async () => {
    const { panel, done } = openPanel();
    await until(() => versionNode(panel, 'cancer', 3)?.dataset.stage === 'production', 'v3 in production');
    button(panel, '[data-model="cancer"] [data-action="rollback"]').click();
    await pressDialogButton('Cancel');
    expect(await done[0]).toBe(false);
    expect(versionNode(panel, 'cancer', 3)?.dataset.stage).toBe('production');
    button(panel, '[data-model="cancer"] [data-action="rollback"]').click();
    await pressDialogButton('Roll back');
    expect(await done[1]).toBe(true);
    await until(() => versionNode(panel, 'cancer', 1)?.dataset.stage === 'production', 'v1 back in production');
    expect((await audit('cancer')).some(e => e.action === 'rollback' && e.actor === 'api')).toBe(true);
  });

  it('should update live when another client changes a deployment', async () => {
    const { panel } = openPanel();
    await until(() => versionNode(panel, 'wine', 1), 'wine');
    expect(sharesOf(panel, 'wine', 1)).toEqual([]);
    await setup.call({ type: 'deploy', model: 'wine', version: 1, shadow: true });
    await until(() => sharesOf(panel, 'wine', 1)[0] === 'shadow', 'the shadow, live');
  });

  it('should show an error reply from an action in a dialog', async () => {
    const { panel, done } = openPanel();
    await until(() => panel.node.querySelector('[data-model="wine"]'), 'wine');
    // wine has no production version: the rollback button is disabled; the command refuses too
    expect(button(panel, '[data-model="wine"] [data-action="rollback"]').disabled).toBe(true);
    const actions = new ModelActions(opened[1] as ModelsModel);
    const result = actions.rollback('wine');
    await pressDialogButton('Roll back');
    const error = await dialog();
    expect(error.textContent).toContain('Could not roll back wine');
    expect(error.textContent).toContain('NBD_ERR_DEPLOY_CONFLICT');
    await pressDialogButton('Close');
    expect(await result).toBe(false);
    expect(done).toEqual([]);
  });

  it('should show a model’s history — who did what, from which notebook and cell — and keep it current while open', async () => {
    const { panel } = openPanel();
    await until(() => panel.node.querySelector('[data-model="wine"]'), 'the models');
    await setup.call({ type: 'deploy', model: 'wine', version: 1, stage: 'staging', context: { notebook: 'work/wine.ipynb', cell: 'cell-7' } });
    const historyButton = (): HTMLButtonElement => button(panel, '[data-model="wine"] [data-action="history"]');
    expect(historyButton().getAttribute('aria-expanded')).toBe('false');
    historyButton().click();
    const entries = (): HTMLElement[] => [...panel.node.querySelectorAll<HTMLElement>('[data-history="wine"] .jp-nbdeploy-historyEntry')];
    await until(() => entries().length > 0, 'the history');
    expect(historyButton().textContent).toBe('Hide history');
    const stored = await audit('wine');
    // newest first, as the service keeps them
    expect(entries().map(n => [n.dataset.action, n.dataset.user])).toEqual(stored.map(e => [e.action, e.actor]));
    expect(entries().at(-1)?.dataset.action).toBe('register');
    const where = entries()[0]!.querySelector<HTMLElement>('.jp-nbdeploy-historyWhere')!;
    expect(where.dataset).toMatchObject({ notebook: 'work/wine.ipynb', cell: 'cell-7' });
    expect(where.textContent).toBe('work/wine.ipynb · cell cell-7');
    expect(entries()[0]!.querySelector('.jp-nbdeploy-historyAction')?.textContent).toBe('stage v1');
    // a change made elsewhere appears as the newest entry, with its details
    await setup.call({ type: 'set_integrity_policy', model: 'wine', policy: { out_of_range: 'refuse' } });
    await until(() => entries()[0]?.dataset.action === 'integrity_policy', 'the new entry');
    expect(entries()[0]!.querySelector('.jp-nbdeploy-historyDetails')?.textContent).toContain('out_of_range');
    historyButton().click();
    expect(panel.node.querySelector('[data-history="wine"]')).toBeNull();
  });

  it('should say by the promote action why a promotion to production is held, in the service’s words', async () => {
    const { panel } = openPanel();
    await until(() => versionNode(panel, 'wine', 1), 'wine v1');
    const stored = await setup.call({ type: 'get_model', model: 'wine' });
    const gate = (stored.model as { versions: Array<{ production_gate: { open: boolean; reason: string } }> }).versions[0]!.production_gate;
    expect(gate.open).toBe(false); // never validated
    const held = versionNode(panel, 'wine', 1)!.querySelector<HTMLElement>('[data-gate="held"]');
    expect(held?.textContent).toBe(`Production held: ${gate.reason}`);
    expect(button(panel, '[data-model="wine"] [data-version="1"] [data-action="promote"]').title).toBe(`Make v1 production (held: ${gate.reason})`);
    // production itself says nothing of the gate
    expect(versionNode(panel, 'cancer', 1)?.dataset.stage).toBe('production');
    expect(versionNode(panel, 'cancer', 1)?.querySelector('[data-gate]')).toBeNull();
  });

  it('should set the capture of a deployment from its form, turn it off, and say what is wrong with a bad rate or retention', async () => {
    const { panel, done } = openPanel();
    await until(() => panel.node.querySelector('[data-model="cancer"]'), 'cancer');
    const captureButton = () => button(panel, '[data-model="cancer"] [data-action="set-capture"]');
    expect(captureButton().title).toMatch(/^Captures nothing\./);
    const fill = async (values: { enabled?: boolean; percent?: string; days?: string }, accept = 'Set capture'): Promise<void> => {
      captureButton().click();
      const form = await dialog();
      const input = (name: string) => form.querySelector<HTMLInputElement>(`input[name="${name}"]`)!;
      if (values.enabled !== undefined) input('enabled').checked = values.enabled;
      if (values.percent !== undefined) input('percent').value = values.percent;
      if (values.days !== undefined) input('days').value = values.days;
      await pressDialogButton(accept);
    };
    // A share past 100 % is refused with the reason, and nothing is sent.
    captureButton().click();
    const form = await dialog();
    expect(form.querySelector<HTMLInputElement>('input[name="enabled"]')!.checked).toBe(true);
    expect(form.querySelector<HTMLInputElement>('input[name="percent"]')!.value).toBe('10');
    expect(form.querySelector<HTMLInputElement>('input[name="days"]')!.value).toBe('7');
    form.querySelector<HTMLInputElement>('input[name="percent"]')!.value = '150';
    await pressDialogButton('Set capture');
    expect((await dialog()).textContent).toContain('The share of requests kept must be a number more than 0 and at most 100 (%), not "150".');
    await pressDialogButton('Close');
    expect(await done[0]).toBe(false);
    // 25 % for 3 days: the service keeps it, audited as the user; the sidebar shows it.
    await fill({ percent: '25', days: '3' });
    expect(await done[1]).toBe(true);
    await until(() => panel.node.querySelector('[data-model="cancer"] .jp-nbdeploy-facts')?.textContent?.endsWith('capture 25%'), 'the capture in the summary');
    expect(captureButton().title).toMatch(/^Captures: keeps 25% of requests for 3 days\./);
    const stored = await setup.call({ type: 'get_model', model: 'cancer' });
    expect((stored.model as { deployment: { capture: unknown } }).deployment.capture).toEqual({ rate: 0.25, retention_days: 3 });
    expect((await audit('cancer')).find(e => e.action === 'capture')?.actor).toBe('api');
    // The form starts from what is set; unchecked, it turns capture off.
    captureButton().click();
    expect((await dialog()).querySelector<HTMLInputElement>('input[name="percent"]')!.value).toBe('25');
    await pressDialogButton('Cancel');
    expect(await done[2]).toBe(false);
    await fill({ enabled: false });
    expect(await done[3]).toBe(true);
    await until(() => captureButton().title.startsWith('Captures nothing'), 'capture off');
    expect(((await setup.call({ type: 'get_model', model: 'cancer' })).model as { deployment: { capture: unknown } }).deployment.capture).toBeNull();
  });

  it('should say why it is not connected', async () => {
    const { panel } = openPanel(`${service.wsUrl}?token=wrong`);
    const line = await until(() => panel.node.querySelector<HTMLElement>('[data-state="disconnected"]'), 'the disconnected state');
    await until(() => line.isConnected && /Reconnecting to the nbdeploy service: .+/.test(panel.node.querySelector('.jp-nbdeploy-connectionText')?.textContent ?? ''), 'the reason');
    expect(panel.node.querySelector('[data-action="reconnect"]')).not.toBeNull();
  });
});

describe('capture settings', () => {
  it('should read the form as the service takes it, a share and days', () => {
    expect(readCaptureForm({ enabled: 'true', percent: '12.5', days: '0.5' })).toEqual({ rate: 0.125, retention_days: 0.5 });
    expect(readCaptureForm({ enabled: '', percent: 'anything', days: '' })).toEqual({ rate: 0 });
  });

  it('should refuse a share outside (0, 100] % and days that are not more than 0, naming the text typed', () => {
    expect(readCaptureForm({ enabled: 'true', percent: '0', days: '7' })).toEqual({
      error: 'The share of requests kept must be a number more than 0 and at most 100 (%), not "0". Uncheck the box to turn capture off.'
    });
    expect(readCaptureForm({ enabled: 'true', percent: '', days: '7' })).toHaveProperty('error');
    expect(readCaptureForm({ enabled: 'true', percent: '10', days: '0' })).toEqual({ error: 'The days captured requests are kept must be a number more than 0, not "0".' });
    expect(readCaptureForm({ enabled: 'true', percent: '10', days: 'a week' })).toHaveProperty('error');
  });

  it('should check a command’s rate as a share in [0, 1], 0 turning capture off', () => {
    expect(checkCapture(0.1, 7)).toEqual({ rate: 0.1, retention_days: 7 });
    expect(checkCapture(1)).toEqual({ rate: 1 });
    expect(checkCapture(0, -1)).toEqual({ rate: 0 });
    expect(checkCapture(10)).toEqual({ error: 'The rate is the share of requests kept, from 0 (capture off) to 1 (every request), not 10.' });
    expect(checkCapture(0.1, 0)).toEqual({ error: 'Captured requests must be kept for more than 0 days, not "0".' });
  });
});

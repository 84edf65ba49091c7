/**
 * Approve / Request changes under a validation report, against a real `nbdeploy serve`:
 * shown only where the service is reachable and the notebook trusted, recorded as the
 * connection's user, with the service's errors said.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';

import { VALIDATION_MIME_TYPE } from '../src/mime.js';
import type { IValidationReport } from '../src/payloads.js';
import { ServiceClient } from '../src/service-client.js';
import { createValidationRendererFactory } from '../src/validation.js';
import { IRIS_METADATA, fixture, variant } from '../../test/support/models.js';
import { NotebookClient } from '../../test/support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../../test/support/service.js';
import passedPayload from './fixtures/validation-passed.json';

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

function connectedClient(): ServiceClient {
  const client = new ServiceClient({ url: `${service.wsUrl}?token=${service.token}`, WebSocket: NodeWebSocket as unknown as typeof WebSocket });
  opened.push(client);
  return client;
}

/** The report of `model` `version` rendered as a notebook output (trusted: run in this session). */
async function render(client: ServiceClient | null, report: IValidationReport, trusted = true): Promise<HTMLElement> {
  const widget = createValidationRendererFactory(client).createRenderer({
    mimeType: VALIDATION_MIME_TYPE,
    sanitizer: { sanitize: (html: string) => html },
    resolver: null,
    linkHandler: null,
    latexTypesetter: null
  }) as Widget & IRenderMime.IRenderer;
  opened.unshift(widget);
  Widget.attach(widget, document.body);
  const model: IRenderMime.IMimeModel = { trusted, data: { [VALIDATION_MIME_TYPE]: report as never }, metadata: {}, setData: () => undefined };
  await widget.renderModel(model);
  return widget.node;
}

/** The fixture's report as the given version's (without a stored id unless given). */
const reportOf = (model: string, version: number, id: number | null = null): IValidationReport => ({
  ...(passedPayload as IValidationReport),
  model,
  version,
  id,
  reviews: undefined
});

beforeAll(async () => {
  service = await startService();
  // The author registers and validates; the bar's user ("api") reviews (nobody reviews their own version).
  setup = await NotebookClient.connect(service, { headers: { 'x-nbdeploy-user': 'ana' } });
  const iris = fixture('iris_classifier.onnx');
  await setup.register('cancer', iris, { metadata: IRIS_METADATA });
  await setup.register('cancer', variant(iris, 'v2'), { metadata: IRIS_METADATA });
  await setup.validateIris('cancer', 1);
  await setup.validateIris('cancer', 2);
}, 60_000);

afterEach(() => {
  for (const item of opened.splice(0)) item.dispose();
});

afterAll(async () => {
  setup?.socket.close();
  await cleanup();
});

describe('the reviewer’s bar', () => {
  it('should record an approval as the connection’s user and show who approved when', async () => {
    const client = connectedClient();
    await client.request({ type: 'list' });
    const node = await render(client, reportOf('cancer', 1));
    const bar = node.querySelector<HTMLElement>('.jp-nbdeploy-reviewBar')!;
    expect(bar.dataset).toMatchObject({ model: 'cancer', version: '1' });
    bar.querySelector<HTMLTextAreaElement>('textarea')!.value = 'metrics hold on the holdout';
    bar.querySelector<HTMLButtonElement>('[data-decision="approve"]')!.click();
    const recorded = await until(() => bar.querySelector<HTMLElement>('.jp-nbdeploy-review[data-decision="approve"]'), 'the recorded review');
    expect(recorded.textContent).toMatch(/^✓ Approved by api · \d{4}-\d\d-\d\d \d\d:\d\d UTCmetrics hold on the holdout$/);
    const stored = await setup.call({ type: 'get_validation', model: 'cancer', version: 1 });
    const reviews = (stored.validation as { reviews: Array<{ decision: string; by: string; comment: string }> }).reviews;
    expect(reviews.at(-1)).toMatchObject({ decision: 'approve', by: 'api', comment: 'metrics hold on the holdout' });
  });

  it('should show the latest recorded review when it opens, and record a request for changes', async () => {
    const client = connectedClient();
    await client.request({ type: 'list' });
    const node = await render(client, reportOf('cancer', 1));
    await until(() => node.querySelector('.jp-nbdeploy-reviewBar [data-decision="approve"].jp-nbdeploy-review'), 'the earlier approval');
    node.querySelector<HTMLButtonElement>('.jp-nbdeploy-reviewBar button[data-decision="request_changes"]')!.click();
    await until(() => node.querySelector('.jp-nbdeploy-reviewBar .jp-nbdeploy-review[data-decision="request_changes"]'), 'changes requested');
    // the gate now refuses version 1
    const refused = await setup.request({ type: 'promote', model: 'cancer', version: 1 });
    expect(refused.code).toBe('NBD_ERR_VALIDATION_REQUIRED');
  });

  it('should say why a review was not recorded', async () => {
    const client = connectedClient();
    await client.request({ type: 'list' });
    const node = await render(client, reportOf('cancer', 99));
    node.querySelector<HTMLButtonElement>('.jp-nbdeploy-reviewBar button[data-decision="approve"]')!.click();
    const message = await until(() => node.querySelector<HTMLElement>('.jp-nbdeploy-reviewMessage.jp-nbdeploy-error'), 'the error');
    expect(message.textContent).toMatch(/^The review was not recorded: .*\(NBD_ERR_VERSION_NOT_FOUND\)$/);
  });

  it('should appear once the service connects, and never for untrusted notebooks or without the service', async () => {
    const client = connectedClient();
    const node = await render(client, reportOf('cancer', 2));
    expect(node.querySelector('.jp-nbdeploy-reviewBar')).toBeNull(); // still connecting
    await until(() => node.querySelector('.jp-nbdeploy-reviewBar'), 'the bar after connecting');
    const untrusted = await render(client, reportOf('cancer', 2), false);
    expect(untrusted.querySelector('.jp-nbdeploy-reviewBar')).toBeNull();
    expect(untrusted.querySelector('.jp-nbdeploy-verdict')?.textContent).toBe('✓ Passed');
    const offline = await render(null, reportOf('cancer', 2));
    expect(offline.querySelector('.jp-nbdeploy-reviewBar')).toBeNull();
  });

  it('should say when the report shown is not the version’s latest (a review applies to the latest)', async () => {
    const first = await setup.call({ type: 'get_validation', model: 'cancer', version: 2 });
    const older = (first.validation as { id: number }).id;
    await setup.validateIris('cancer', 2);
    const client = connectedClient();
    await client.request({ type: 'list' });
    const node = await render(client, reportOf('cancer', 2, older));
    await until(() => node.querySelector('.jp-nbdeploy-reviewMessage')?.textContent, 'the note');
    expect(node.querySelector('.jp-nbdeploy-reviewMessage')?.textContent).toBe('A newer validation report of v2 is stored: a review applies to that one.');
  });
});

// @vitest-environment node
/**
 * The extension's service connection against a real `nbdeploy serve` (the browser reaches it
 * through the Jupyter proxy; here directly, with the token in the URL as the proxy would add it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';

import { ALL_MODELS, type ConnectionState, type ILiveEvent, ServiceClient, ServiceRequestError } from '../src/service-client.js';
import { fixture } from '../../test/support/models.js';
import { NotebookClient } from '../../test/support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../../test/support/service.js';

let service: ServiceProcess;
let setup: NotebookClient;

function client(url = `${service.wsUrl}?token=${service.token}`): ServiceClient {
  return new ServiceClient({ url, WebSocket: NodeWebSocket as unknown as typeof WebSocket, maxReconnectDelayMs: 200 });
}

function until<T>(check: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      const value = check();
      if (value !== undefined) resolve(value);
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

beforeAll(async () => {
  service = await startService();
  setup = await NotebookClient.connect(service);
  await setup.register('iris', fixture('iris_classifier.onnx'));
}, 60_000);

afterAll(async () => {
  setup?.socket.close();
  await cleanup();
});

describe('ServiceClient', () => {
  it('should connect, answer requests and report the service user', async () => {
    const states: ConnectionState[] = [];
    const c = client();
    c.stateChanged.connect((_, state) => states.push(state));
    const reply = await c.request<{ type: string; models: Array<{ name: string }> }>({ type: 'list' });
    expect(reply.type).toBe('models');
    expect(reply.models.map(m => m.name)).toContain('iris');
    expect(c.state).toBe('connected');
    expect(states).toContain('connected');
    expect(c.user).toBe('api');
    c.dispose();
    expect(c.state).toBe('disconnected');
  });

  it('should reject an error reply with the service code', async () => {
    const c = client();
    const failure = await c.request({ type: 'get_model', model: 'no-such-model' }).catch(e => e);
    expect(failure).toBeInstanceOf(ServiceRequestError);
    expect((failure as ServiceRequestError).code).toBe('NBD_ERR_MODEL_NOT_FOUND');
    expect((failure as ServiceRequestError).message).toContain('no-such-model');
    c.dispose();
  });

  it('should deliver live events to subscribers until they unsubscribe', async () => {
    const c = client();
    const events: ILiveEvent[] = [];
    const subscription = c.subscribe('iris', event => events.push(event));
    await c.request({ type: 'list' }); // connected, and the subscribe went first
    await setup.call({ type: 'deploy', model: 'iris', version: 1, stage: 'staging' });
    const event = await until(() => events.find(e => e.kind === 'deployment'), 'a deployment event');
    expect(event.model).toBe('iris');
    subscription.dispose();
    expect(subscription.isDisposed).toBe(true);
    c.dispose();
  });

  it('should follow every model with `*`, those registered later included', async () => {
    const c = client();
    const events: ILiveEvent[] = [];
    const subscription = c.subscribe(ALL_MODELS, event => events.push(event));
    await c.request({ type: 'list' });
    await setup.register('iris-later', fixture('iris_classifier.onnx'));
    const event = await until(() => events.find(e => e.model === 'iris-later' && e.kind === 'deployment'), 'the new model\'s event');
    expect((event.data as { action: string }).action).toBe('register');
    subscription.dispose();
    c.dispose();
  });

  it('should stay disconnected with the reason when the token is wrong, and fail requests on dispose', async () => {
    const c = client(`${service.wsUrl}?token=wrong`);
    await until(() => (c.lastError ? true : undefined), 'a connection error');
    expect(c.state).not.toBe('connected');
    const pending = c.request({ type: 'list' });
    c.dispose();
    await expect(pending).rejects.toThrow(/closed/);
  });
});

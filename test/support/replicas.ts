/**
 * What the replica tests share (one state dir with `--join`, and PostgreSQL with `--database`):
 * waiting for what replicas converge on, inference on the iris fixture, a production deploy
 * through one replica while load runs on all, and a replica killed during a deploy.
 */
import { expect } from 'vitest';
import { request } from './http.js';
import { IRIS_METADATA, fixture, fp32, variant } from './models.js';
import type { NotebookClient, Reply } from './notebook-client.js';
import type { ServiceProcess } from './service.js';

export const IRIS = fixture('iris_classifier.onnx');
const ROW = [5.1, 3.5, 1.4, 0.2];

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs` naming `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`${what} did not happen within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const infer = (client: NotebookClient, requestId: string, rows: number[][] = [ROW]): Promise<Reply> =>
  client.request({ type: 'infer', model: 'iris', request_id: requestId, inputs: [fp32('input', rows)] });

export const productionOf = async (client: NotebookClient): Promise<number | null> => (await client.call({ type: 'get_model', model: 'iris' })).model.deployment.production;

/** Registers iris through the first client and promotes it; every client's replica then serves it. */
export async function loadThroughOne(clients: NotebookClient[]): Promise<void> {
  const registered = await clients[0]!.register('iris', IRIS, { metadata: IRIS_METADATA });
  await clients[0]!.promote('iris', registered.version);
  for (const client of clients) {
    const reply = await eventually('serving on every replica', async () => {
      const r = await infer(client, 'first');
      return r.type === 'infer_result' ? r : undefined;
    });
    expect(reply.model_version).toBe(registered.version);
  }
}

/**
 * Registers and promotes a new iris version through `through` while every client sends
 * requests, until each replica answers with it (within `reachMs`); no request may fail.
 */
export async function deployUnderLoad(clients: NotebookClient[], through: NotebookClient, reachMs: number): Promise<void> {
  const next = await through.register('iris', variant(IRIS, `v-${Date.now()}`), { metadata: IRIS_METADATA });
  let stop = false;
  const failures: Reply[] = [];
  let served = 0;
  const load = clients.map(async (client, i) => {
    for (let n = 0; !stop; n++) {
      const reply = await infer(client, `load-${i}-${n}`);
      if (reply.type === 'infer_result') served++;
      else failures.push(reply);
    }
  });
  try {
    await new Promise((r) => setTimeout(r, 300));
    await through.promote('iris', next.version);
    for (const client of clients) {
      await eventually(`version ${next.version} answering on every replica`, async () => ((await infer(client, 'probe')).model_version === next.version ? true : undefined), reachMs);
    }
  } finally {
    stop = true;
    await Promise.all(load);
  }
  expect(failures).toEqual([]);
  expect(served).toBeGreaterThan(0);
  for (const client of clients) expect(await productionOf(client)).toBe(next.version);
}

/**
 * Kills `victim` (SIGKILL) just after a promote through it began: the survivor's registry says
 * either the old production or the new, and the survivor serves what it says.
 */
export async function killDuringDeploy(victim: ServiceProcess, victimClient: NotebookClient, survivor: ServiceProcess, survivorClient: NotebookClient): Promise<void> {
  const before = await productionOf(survivorClient);
  const next = await victimClient.register('iris', variant(IRIS, `v-kill-${Date.now()}`), { metadata: IRIS_METADATA });
  const deploy = victimClient.promote('iris', next.version).catch(() => null);
  await new Promise((r) => setTimeout(r, 20));
  await victim.kill();
  await deploy;
  const production = await productionOf(survivorClient);
  expect([before, next.version]).toContain(production);
  const audit = await survivorClient.call({ type: 'audit', model: 'iris', limit: 5 });
  expect(audit.entries.length).toBeGreaterThan(0);
  const ready = await request(survivor.url, '/v2/health/ready', { token: survivor.token });
  expect(ready.status).toBe(200);
  await eventually(`the survivor serving version ${production}`, async () => ((await infer(survivorClient, 'after-kill')).model_version === production ? true : undefined), 10_000);
}

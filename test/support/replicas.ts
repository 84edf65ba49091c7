/**
 * What the replica tests share (one state dir with `--join`, and PostgreSQL with `--database`):
 * waiting for what replicas converge on, inference on the iris fixture, a production deploy
 * through one replica while load runs on all, and a replica killed during a deploy.
 */
import { expect } from 'vitest';
import { request } from './http.js';
import { IRIS_METADATA, fixture, fp32, variant } from './models.js';
import type { NotebookClient, Reply } from './notebook-client.js';
import { eventually } from './eventually.js';
import type { ServiceProcess } from './service.js';

export const IRIS = fixture('iris_classifier.onnx');
const ROW = [5.1, 3.5, 1.4, 0.2];

export { eventually } from './eventually.js';

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

/** Traffic sent to each replica (3, 5 and 7 requests) shows in the `status` of every one, once each has published its open windows. */
export async function statusCountsEveryReplica(clients: NotebookClient[]): Promise<void> {
  const count = async (client: NotebookClient): Promise<number> => (await client.call({ type: 'status', model: 'iris', last_seconds: 3600 })).ops.requests;
  // The traffic so far, once every replica agrees on it (each publishes its open windows about once a second).
  const before = await eventually('the replicas agreeing on the traffic so far', async () => {
    const counts = await Promise.all(clients.map(count));
    return counts.every((c) => c === counts[0]) ? counts[0] : undefined;
  });
  const sent = [3, 5, 7];
  for (const [i, client] of clients.entries()) {
    for (let n = 0; n < sent[i]!; n++) expect((await infer(client, `count-${i}-${n}`)).type).toBe('infer_result');
  }
  const expected = before! + sent.slice(0, clients.length).reduce((a, b) => a + b, 0);
  for (const client of clients) {
    let seen = 0;
    await eventually(`status counting ${expected} requests`, async () => ((seen = await count(client)) === expected ? true : undefined)).catch((error: Error) => {
      throw new Error(`${error.message} (it counts ${seen})`);
    });
  }
}

/** Ground truth sent to the last replica joins predictions the first served; a third's status shows the performance. */
export async function feedbackJoinsAcrossReplicas(clients: NotebookClient[]): Promise<void> {
  const ids = Array.from({ length: 6 }, (_, n) => `truth-${n}`);
  const labels: number[] = [];
  for (const id of ids) {
    const reply = await infer(clients[0]!, id);
    labels.push((reply.outputs.find((o: { name: string }) => o.name === 'label').data as number[])[0]!);
  }
  // A status on the replica that served them has it write its predictions log first.
  await clients[0]!.call({ type: 'status', model: 'iris', last_seconds: 60 });
  const recorded = await clients.at(-1)!.call({ type: 'feedback', model: 'iris', request_ids: ids, ground_truth: labels });
  expect(recorded.count).toBe(ids.length);
  const status = await clients[1]!.call({ type: 'status', model: 'iris', last_seconds: 3600 });
  expect(status.performance).toMatchObject({ labelled: ids.length, accuracy: 1 });
}

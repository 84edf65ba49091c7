/**
 * Replicas of one service on one state dir: a first `nbdeploy serve` and two started with
 * `--join`, each on its own port, with 60-second monitoring windows (so that only the open
 * windows each replica publishes make one replica's traffic visible on another). A second
 * service started on the dir without `--join` is refused. A model loaded through one replica
 * is served by all; a production deploy through another reaches all while load runs on all
 * three, with no failed request; `status` on any replica counts the traffic of all; ground
 * truth sent to one replica joins predictions another served; an alert reaches the webhook
 * once; the alert leader's death hands alerting over; a replica killed during a deploy leaves
 * a consistent registry and the others serving.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { request } from '../support/http.js';
import { IRIS_METADATA, fixture, fp32, variant } from '../support/models.js';
import { NotebookClient, type Reply } from '../support/notebook-client.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';

const IRIS = fixture('iris_classifier.onnx');
const ROW = [5.1, 3.5, 1.4, 0.2];

/** Records every alert posted to it. */
class Webhook {
  readonly posts: any[] = [];
  private _server: Server | null = null;

  async start(): Promise<string> {
    this._server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.posts.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => this._server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this._server.address() as AddressInfo).port}/hook`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this._server ? this._server.close(() => resolve()) : resolve()));
  }
}

const webhook = new Webhook();
let replicas: ServiceProcess[];
let clients: NotebookClient[];

beforeAll(async () => {
  const hook = await webhook.start();
  const args = ['--monitor-window-seconds', '60', '--alert-webhook', hook];
  const first = await startService({ args });
  replicas = [first];
  for (let i = 0; i < 2; i++) replicas.push(await startService({ stateDir: first.stateDir, args: [...args, '--join'] }));
  clients = await Promise.all(replicas.map((r) => NotebookClient.connect(r)));
});

afterAll(async () => {
  await Promise.all((clients ?? []).map((c) => c.close()));
  await cleanup();
  await webhook.stop();
});

const infer = (client: NotebookClient, requestId: string, rows: number[][] = [ROW]) =>
  client.request({ type: 'infer', model: 'iris', request_id: requestId, inputs: [fp32('input', rows)] });
const productionOf = async (client: NotebookClient): Promise<number | null> => (await client.call({ type: 'get_model', model: 'iris' })).model.deployment.production;

describe('replicas of one service', () => {
  it('should refuse a second service on the state dir unless it joins', async () => {
    await expect(startService({ stateDir: replicas[0]!.stateDir })).rejects.toThrow(/in use by another nbdeploy service \(pid \d+.*--join/s);
  });

  it('should serve a model loaded through one replica on every replica', async () => {
    const registered = await clients[0]!.register('iris', IRIS, { metadata: IRIS_METADATA });
    await clients[0]!.promote('iris', registered.version);
    for (const client of clients) {
      const reply = await eventually('serving on every replica', async () => {
        const r = await infer(client, 'first');
        return r.type === 'infer_result' ? r : undefined;
      });
      expect(reply.model_version).toBe(registered.version);
    }
  });

  it('should reach every replica with a production deploy made through another, with no failed request under load', async () => {
    const v2 = await clients[1]!.register('iris', variant(IRIS, 'v2'), { metadata: IRIS_METADATA });
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
      await clients[1]!.promote('iris', v2.version);
      for (const client of clients) {
        await eventually(`version ${v2.version} answering on every replica`, async () => ((await infer(client, 'probe')).model_version === v2.version ? true : undefined), 10_000);
      }
    } finally {
      stop = true;
      await Promise.all(load);
    }
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThan(0);
    for (const client of clients) expect(await productionOf(client)).toBe(v2.version);
  });

  it("should count every replica's traffic in the status of any replica", async () => {
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
    const expected = before + sent.reduce((a, b) => a + b, 0);
    for (const client of clients) {
      let seen = 0;
      await eventually(`status counting ${expected} requests`, async () => ((seen = await count(client)) === expected ? true : undefined)).catch((error: Error) => {
        throw new Error(`${error.message} (it counts ${seen})`);
      });
    }
  });

  it('should join ground truth sent to one replica with predictions served by another', async () => {
    const ids = Array.from({ length: 6 }, (_, n) => `truth-${n}`);
    const labels: number[] = [];
    for (const id of ids) {
      const reply = await infer(clients[0]!, id);
      labels.push((reply.outputs.find((o: { name: string }) => o.name === 'label').data as number[])[0]!);
    }
    // A status on the replica that served them has it write its predictions log first.
    await clients[0]!.call({ type: 'status', model: 'iris', last_seconds: 60 });
    const recorded = await clients[2]!.call({ type: 'feedback', model: 'iris', request_ids: ids, ground_truth: labels });
    expect(recorded.count).toBe(ids.length);
    const status = await clients[1]!.call({ type: 'status', model: 'iris', last_seconds: 3600 });
    expect(status.performance).toMatchObject({ labelled: ids.length, accuracy: 1 });
  });

  it("should stream another replica's traffic to a notebook subscribed on this one", async () => {
    const watcher = await NotebookClient.connect(replicas[2]!);
    try {
      await watcher.call({ type: 'subscribe', model: 'iris' });
      for (let n = 0; n < 15; n++) expect((await infer(clients[0]!, `live-${n}`)).type).toBe('infer_result');
      // Served by the first replica only: the third hears of it from the windows the first publishes.
      let streamed = 0;
      while (streamed < 15) {
        const stats = await watcher.nextUnsolicited((m) => m.type === 'event' && m.kind === 'stats', 15_000);
        streamed += stats.data.versions.reduce((sum: number, v: { requests: number }) => sum + v.requests, 0);
      }
      const window = await watcher.nextUnsolicited((m) => m.type === 'event' && m.kind === 'window', 15_000);
      expect(window.data.ops.requests).toBeGreaterThanOrEqual(15);
    } finally {
      await watcher.close();
    }
  });

  it('should post each alert to the webhook once, and hand alerting over when the leader dies', async () => {
    await clients[0]!.call({
      type: 'set_alert_rules',
      model: 'iris',
      rules: [{ name: 'errors', metric: 'error_rate', condition: '>', threshold: 0.2, window_seconds: 5, min_count: 5, cooldown_seconds: 1 }]
    });
    // Bad requests through two replicas (the 60 s window holds the good traffic before them, too): the rule sees the traffic of all.
    const firing = () => webhook.posts.filter((p) => p.alert?.state === 'firing' && p.alert.rule === 'errors');
    for (let n = 0; firing().length === 0 && n < 5000; n++) {
      await clients[1 + (n % 2)]!.request({ type: 'infer', model: 'iris', inputs: [fp32('input', [[1, 2, 3]])] });
    }
    await eventually('a firing alert posted', async () => (firing().length > 0 ? true : undefined), 20_000);
    // Every replica evaluates each second: a second post would come within a few of them.
    await new Promise((r) => setTimeout(r, 3000));
    expect(firing()).toHaveLength(1);

    const leaders = await Promise.all(replicas.map(async (r) => (await request(r.url, '/metrics', { token: r.token })).body.includes('nbdeploy_alert_leader 1')));
    expect(leaders.filter(Boolean)).toHaveLength(1);
    const leader = leaders.indexOf(true);
    await replicas[leader]!.kill();
    const alive = clients.filter((_, i) => i !== leader);
    // The rule removed through a live replica: the new leader (once it holds the lease) resolves
    // the dead one's alert and posts it — once. (Good traffic would take as long as the 60 s
    // window needs to dilute however many bad requests this machine sent before the alert fired.)
    const resolved = () => webhook.posts.filter((p) => p.alert?.state === 'resolved' && p.alert.rule === 'errors');
    await alive[0]!.call({ type: 'set_alert_rules', model: 'iris', rules: [{ name: 'drift', metric: 'drift_share', condition: '>', threshold: 0.9 }] });
    await eventually('the alert resolved by the new leader', async () => (resolved().length > 0 ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(resolved()).toHaveLength(1);
    expect(resolved()[0].alert.message).toContain('its rule was removed or disabled');
  });

  it('should leave a consistent registry and the others serving when a replica is killed during a deploy', async () => {
    const [survivor, victim] = replicas.filter((r) => !r.hasExited);
    const victimClient = clients[replicas.indexOf(victim!)]!;
    const survivorClient = clients[replicas.indexOf(survivor!)]!;
    const before = await productionOf(survivorClient);
    const v3 = await victimClient.register('iris', variant(IRIS, 'v3'), { metadata: IRIS_METADATA });
    const deploy = victimClient.promote('iris', v3.version).catch(() => null);
    await new Promise((r) => setTimeout(r, 20));
    await victim!.kill();
    await deploy;
    const production = await productionOf(survivorClient);
    expect([before, v3.version]).toContain(production);
    const audit = await survivorClient.call({ type: 'audit', model: 'iris', limit: 5 });
    expect(audit.entries.length).toBeGreaterThan(0);
    const verify = await request(survivor!.url, '/v2/health/ready', { token: survivor!.token });
    expect(verify.status).toBe(200);
    await eventually(`the survivor serving version ${production}`, async () => ((await infer(survivorClient, 'after-kill')).model_version === production ? true : undefined), 10_000);
  });
});

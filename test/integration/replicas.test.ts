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
import { request } from '../support/http.js';
import { fp32 } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { deployUnderLoad, eventually, infer, killDuringDeploy, loadThroughOne } from '../support/replicas.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';

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

describe('replicas of one service', () => {
  it('should refuse a second service on the state dir unless it joins', async () => {
    await expect(startService({ stateDir: replicas[0]!.stateDir })).rejects.toThrow(/in use by another nbdeploy service \(pid \d+.*--join/s);
  });

  it('should serve a model loaded through one replica on every replica', async () => {
    await loadThroughOne(clients);
  });

  it('should reach every replica with a production deploy made through another, with no failed request under load', async () => {
    await deployUnderLoad(clients, clients[1]!, 10_000);
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
    // Good traffic resolves the alert: posted by the new leader.
    const resolved = () => webhook.posts.filter((p) => p.alert?.state === 'resolved' && p.alert.rule === 'errors');
    const goodTraffic = (async () => {
      for (let n = 0; resolved().length === 0 && n < 2000; n++) await infer(alive[n % 2]!, `good-${n}`);
    })();
    await eventually('the alert resolved by the new leader', async () => (resolved().length > 0 ? true : undefined), 30_000);
    await goodTraffic;
    expect(resolved()).toHaveLength(1);
  });

  it('should leave a consistent registry and the others serving when a replica is killed during a deploy', async () => {
    const [survivor, victim] = replicas.filter((r) => !r.hasExited);
    await killDuringDeploy(victim!, clients[replicas.indexOf(victim!)]!, survivor!, clients[replicas.indexOf(survivor!)]!);
  });
});

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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../support/http.js';
import { fp32 } from '../support/models.js';
import { NotebookClient } from '../support/notebook-client.js';
import { deployUnderLoad, eventually, feedbackJoinsAcrossReplicas, infer, killDuringDeploy, loadThroughOne, statusCountsEveryReplica } from '../support/replicas.js';
import { type ServiceProcess, cleanup, startService } from '../support/service.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const webhook = new WebhookReceiver();
let replicas: ServiceProcess[];
let clients: NotebookClient[];

beforeAll(async () => {
  const hook = `${await webhook.start()}/hook`;
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
    await statusCountsEveryReplica(clients);
  });

  it('should join ground truth sent to one replica with predictions served by another', async () => {
    await feedbackJoinsAcrossReplicas(clients);
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
    const firing = () => webhook.received.map((h) => h.body).filter((p) => p.alert?.state === 'firing' && p.alert.rule === 'errors');
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
    const resolved = () => webhook.received.map((h) => h.body).filter((p) => p.alert?.state === 'resolved' && p.alert.rule === 'errors');
    await alive[0]!.call({ type: 'set_alert_rules', model: 'iris', rules: [{ name: 'drift', metric: 'drift_share', condition: '>', threshold: 0.9 }] });
    await eventually('the alert resolved by the new leader', async () => (resolved().length > 0 ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(resolved()).toHaveLength(1);
    expect(resolved()[0].alert.message).toContain('its rule was removed or disabled');
  });

  it('should leave a consistent registry and the others serving when a replica is killed during a deploy', async () => {
    const [survivor, victim] = replicas.filter((r) => !r.hasExited);
    await killDuringDeploy(victim!, clients[replicas.indexOf(victim!)]!, survivor!, clients[replicas.indexOf(survivor!)]!);
  });
});

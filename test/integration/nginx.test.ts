/**
 * Two replicas of one service (a `nbdeploy serve` and a `--join` on the same state dir) behind
 * nginx, configured with the blocks docs/scale-out.md shows (test/support/nginx.ts). Through
 * nginx: a notebook's `/ws` session (a binary register frame, validation, deploy, live events,
 * inference; a browser's same-origin upgrade allowed, another origin refused) and Open
 * Inference Protocol v2 HTTP traffic (health, metadata, infer, a body past nginx's default
 * 1 MiB limit) that reaches both replicas — each replica's own /metrics counts part of
 * it — with no failed request. nginx missing is a failure that says how to install it.
 * And the guide's Prometheus setup on the same replicas: a viewer token made with
 * `nbdeploy users add` scrapes each replica's /metrics, and exactly one replica leads alerting.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { request } from '../support/http.js';
import { IRIS_METADATA, fixture, fp32 } from '../support/models.js';
import { NginxProcess } from '../support/nginx.js';
import { NotebookClient, tryConnect } from '../support/notebook-client.js';
import { BIN, ROOT, type ServiceProcess, cleanup, startService } from '../support/service.js';

const IRIS = fixture('iris_classifier.onnx');
const ROW = [5.1, 3.5, 1.4, 0.2];

let replicas: ServiceProcess[];
let nginx: NginxProcess;
let notebook: NotebookClient;
let version: number;

beforeAll(async () => {
  const first = await startService();
  replicas = [first, await startService({ stateDir: first.stateDir, args: ['--join'] })];
  nginx = await NginxProcess.start(replicas.map((r) => `127.0.0.1:${r.port}`));
});

afterAll(async () => {
  await notebook?.close();
  await nginx?.stop();
  await cleanup();
});

/** HTTP inference requests each replica counted on its own /metrics. */
async function httpInferences(replica: ServiceProcess): Promise<number> {
  const response = await request(replica.url, '/metrics', { token: replica.token });
  expect(response.status, response.text).toBe(200);
  let total = 0;
  for (const line of response.text.split('\n')) {
    if (line.startsWith('nbdeploy_inference_requests_total{') && line.includes('model="iris"') && line.includes('transport="http"')) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

describe('replicas behind nginx (the config of docs/scale-out.md)', () => {
  it("should carry a notebook's /ws session: register (binary frame), validate, deploy, live events, infer", async () => {
    expect(nginx.config).toContain(`server 127.0.0.1:${replicas[1]!.port} max_fails=1`);
    notebook = await NotebookClient.connect(replicas[0]!, { wsUrl: nginx.wsUrl });
    expect(notebook.welcome.type).toBe('welcome');

    const registered = await notebook.register('iris', IRIS, { metadata: IRIS_METADATA });
    version = registered.version;
    const subscribed = await notebook.call({ type: 'subscribe', model: 'iris' });
    expect(subscribed.type).toBe('subscribed');
    const deployed = await notebook.promote('iris', version);
    expect(deployed.type).not.toBe('error');
    const event = await notebook.nextUnsolicited((m) => m.type === 'event' && m.kind === 'deployment' && m.data.model.deployment.production === version);
    expect(event.model).toBe('iris');

    const reply = await notebook.call({ type: 'infer', model: 'iris', request_id: 'through-nginx', inputs: [fp32('input', [ROW, ROW])] });
    expect(reply).toMatchObject({ type: 'infer_result', model_version: version });
    // Server-pushed frames pass too: the stats of that request arrive as a live event.
    const stats = await notebook.nextUnsolicited((m) => m.type === 'event' && m.kind === 'stats');
    expect(stats.model).toBe('iris');
  });

  it("should let a browser page served from nginx's address open /ws, and refuse another origin", async () => {
    const same = await tryConnect(replicas[0]!, { wsUrl: nginx.wsUrl, origin: nginx.url });
    expect(same.status).toBe(101);
    const other = await tryConnect(replicas[0]!, { wsUrl: nginx.wsUrl, origin: 'http://elsewhere.example' });
    expect(other.status).toBe(403);
    expect(other.body).toContain('origin http://elsewhere.example is not allowed to open a WebSocket');
  });

  it('should pass OIP v2 HTTP traffic to both replicas with no failed request', async () => {
    // The replica that did not take the deploy adopts it (within its 500 ms look and a load).
    for (const replica of replicas) {
      await eventually(`iris ready on ${replica.url}`, async () => ((await request(replica.url, '/v2/models/iris/ready', { token: replica.token })).status === 200 ? true : undefined));
    }
    const before = await Promise.all(replicas.map(httpInferences));
    const token = replicas[0]!.token;

    for (const probe of ['/v2/health/live', '/v2/health/ready']) {
      const response = await request(nginx.url, probe);
      expect(response.status, `${probe}: ${response.text}\n${nginx.log}`).toBe(200);
    }
    const metadata = await request(nginx.url, '/v2/models/iris', { token });
    expect(metadata.status, metadata.text).toBe(200);
    expect(metadata.json()).toMatchObject({ name: 'iris', inputs: [{ name: 'input', datatype: 'FP32' }] });

    const sent = 40;
    const statuses: number[] = [];
    const failures: string[] = [];
    // Four clients at once, ten requests each.
    await Promise.all(
      Array.from({ length: 4 }, async (_, client) => {
        for (let n = 0; n < sent / 4; n++) {
          const response = await request(nginx.url, '/v2/models/iris/infer', { token, body: { id: `c${client}-${n}`, inputs: [fp32('input', [ROW])] } });
          statuses.push(response.status);
          if (response.status !== 200) failures.push(`${response.status} ${response.text}`);
          else expect(response.json()).toMatchObject({ model_name: 'iris', model_version: String(version), id: `c${client}-${n}` });
        }
      })
    );
    expect(failures).toEqual([]);
    expect(statuses).toHaveLength(sent);

    const after = await Promise.all(replicas.map(httpInferences));
    const moved = after.map((count, i) => count - before[i]!);
    expect(moved.every((m) => m > 0), `requests per replica: ${moved.join(', ')}\n${nginx.accessLog}`).toBe(true);
    expect(moved.reduce((a, b) => a + b, 0)).toBe(sent);
  });

  it("should pass a request body past nginx's default 1 MiB limit (client_max_body_size)", async () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => [5.1 + (i % 7) / 10, 3.5, 1.4, 0.2]);
    const body = JSON.stringify({ inputs: [fp32('input', rows)] });
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const response = await request(nginx.url, '/v2/models/iris/infer', { token: replicas[0]!.token, body });
    expect(response.status, response.text.slice(0, 500)).toBe(200);
    const label = response.json().outputs.find((o: { name: string }) => o.name === 'label');
    expect(label.shape).toEqual([100_000]);
  });
});

describe('docs/scale-out.md: Prometheus on every replica', () => {
  it("should scrape each replica's /metrics with a viewer token, one replica leading alerting", async () => {
    const added = spawnSync(process.execPath, [BIN, 'users', 'add', 'prometheus', '--role', 'viewer', '--state-dir', replicas[0]!.stateDir], { cwd: ROOT, encoding: 'utf8' });
    expect(added.status, added.stderr).toBe(0);
    const token = added.stdout.trim();
    const leaders = await eventually('one alert leader among the replicas', async () => {
      const flags = await Promise.all(
        replicas.map(async (replica) => {
          const response = await request(replica.url, '/metrics', { token });
          expect(response.status, response.text).toBe(200);
          return Number(/^nbdeploy_alert_leader (\d+)$/m.exec(response.text)?.[1]);
        })
      );
      return flags.reduce((a, b) => a + b, 0) === 1 ? flags : undefined;
    });
    expect([...leaders].sort()).toEqual([0, 1]);
  });
});

import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient, request } from '../support/http.js';
import { fixture } from '../support/models.js';
import { tryConnect } from '../support/notebook-client.js';
import { BIN, type ServiceProcess, cleanup, makeTempDir, startService } from '../support/service.js';

/** Every route but the health probes, with a body where it takes one. */
const GUARDED_ROUTES: Array<[method: 'GET' | 'POST', path: string, body?: unknown]> = [
  ['GET', '/v2'],
  ['GET', '/v2/models/iris'],
  ['GET', '/v2/models/iris/versions/1'],
  ['GET', '/v2/models/iris/ready'],
  ['GET', '/v2/models/iris/versions/1/ready'],
  ['POST', '/v2/models/iris/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }],
  ['POST', '/v2/models/iris/versions/1/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }],
  ['POST', '/v2/repository/index', {}],
  ['POST', '/v2/repository/models/iris/load', {}],
  ['POST', '/v2/repository/models/iris/unload', {}],
  ['GET', '/metrics']
];

let service: ServiceProcess;
let rest: RestClient;

beforeAll(async () => {
  service = await startService();
  rest = new RestClient(service);
  await rest.register('iris', { 'model.onnx': fixture('iris_classifier.onnx') });
});

afterAll(cleanup);

describe('HTTP token', () => {
  const wrongTokens: Array<[string, Record<string, string>]> = [
    ['no Authorization header', {}],
    ['a wrong token of the same length', {}],
    ['a wrong token of another length', { authorization: 'Bearer not-the-token' }],
    ['an empty bearer token', { authorization: 'Bearer ' }],
    ['another scheme', {}]
  ];

  it.each(GUARDED_ROUTES)('should answer 401 NBD_ERR_UNAUTHORIZED on %s %s without the right token', async (method, route, body) => {
    for (const [what, given] of wrongTokens) {
      let headers = given;
      if (what === 'a wrong token of the same length') {
        const wrong = service.token.slice(0, -1) + (service.token.endsWith('A') ? 'B' : 'A');
        headers = { authorization: `Bearer ${wrong}` };
      } else if (what === 'another scheme') {
        headers = { authorization: `Basic ${Buffer.from(`user:${service.token}`).toString('base64')}` };
      }
      const res = await request(service.url, route, { method, body, headers });
      expect(res.status, `${what}: ${res.text}`).toBe(401);
      expect(res.json().code, what).toBe('NBD_ERR_UNAUTHORIZED');
      expect(res.json().error, what).toMatch(/token/);
    }
  });

  it('should not accept the token as a query parameter on HTTP routes', async () => {
    const res = await request(service.url, `/v2?token=${encodeURIComponent(service.token)}`);
    expect(res.status).toBe(401);
    expect(res.json().code).toBe('NBD_ERR_UNAUTHORIZED');
  });

  it('should answer the health probes without a token', async () => {
    const live = await request(service.url, '/v2/health/live');
    expect(live.status).toBe(200);
    expect(live.json()).toEqual({ live: true });
    const ready = await request(service.url, '/v2/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({ ready: true });
  });

  it('should answer every guarded route with the token', async () => {
    for (const [method, route, body] of GUARDED_ROUTES.filter(([, r]) => !r.includes('unload'))) {
      const res = await request(service.url, route, { method, body, token: service.token });
      expect(res.status, `${method} ${route}: ${res.text}`).toBe(200);
    }
  });
});

describe('WebSocket upgrade', () => {
  it('should refuse an upgrade without a token with 401', async () => {
    const result = await tryConnect(service, { token: null });
    expect(result.status).toBe(401);
    expect(JSON.parse(result.body).error).toMatch(/token/);
  });

  it('should refuse an upgrade with a wrong token with 401', async () => {
    expect((await tryConnect(service, { token: 'x'.repeat(32) })).status).toBe(401);
    expect((await tryConnect(service, { token: 'x'.repeat(32), tokenInQuery: true })).status).toBe(401);
  });

  it('should accept the token in the Authorization header or as ?token=', async () => {
    const header = await tryConnect(service);
    expect(header.status).toBe(101);
    expect(header.welcome).toMatchObject({ type: 'welcome', protocol: 1, server: { name: 'nbdeploy' }, user: 'api' });
    expect((await tryConnect(service, { tokenInQuery: true })).status).toBe(101);
  });

  it('should refuse a foreign Origin with 403 even with the token', async () => {
    const result = await tryConnect(service, { origin: 'http://evil.example' });
    expect(result.status).toBe(403);
    expect(JSON.parse(result.body).error).toContain('http://evil.example');
    // A different port on the same host is another origin.
    expect((await tryConnect(service, { origin: `http://127.0.0.1:${service.port + 1}` })).status).toBe(403);
    expect((await tryConnect(service, { origin: 'null' })).status).toBe(403);
  });

  it("should accept the service's own origin", async () => {
    const result = await tryConnect(service, { origin: service.url });
    expect(result.status).toBe(101);
  });

  it('should refuse other paths with 404', async () => {
    const res = await request(service.url, '/elsewhere', {
      token: service.token,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }
    }).catch((error: Error) => error);
    expect(res).not.toBeInstanceOf(Error);
    expect((res as { status: number }).status).toBe(404);
  });

  it('should accept an origin given with --allow-origin, and still refuse others', async () => {
    const lab = await startService({ args: ['--allow-origin', 'http://lab.example:8888'] });
    expect((await tryConnect(lab, { origin: 'http://lab.example:8888' })).status).toBe(101);
    expect((await tryConnect(lab, { origin: 'http://lab.example:9999' })).status).toBe(403);
    expect((await tryConnect(lab, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await tryConnect(lab, { origin: 'http://lab.example:8888', token: null })).status).toBe(401);
    expect((await lab.stop()).code).toBe(0);
  });
});

describe('token file', () => {
  it('should be readable by its owner only (mode 0600)', () => {
    const file = path.join(service.stateDir, 'token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('should be what `nbdeploy token` prints, and kept across restarts', async () => {
    const printed = token(service.stateDir).stdout.trim();
    expect(printed).toBe(service.token);
    expect(service.token.length).toBeGreaterThanOrEqual(16);
    const stateDir = service.stateDir;
    expect((await service.stop()).code).toBe(0);
    service = await startService({ stateDir });
    expect(service.token).toBe(printed);
    const res = await request(service.url, '/v2', { token: printed });
    expect(res.status).toBe(200);
  });

  it('should print the token a service given --token accepts, or say that the file is not it', async () => {
    const given = 'a-given-token-of-32-characters!!';
    const other = await startService({ args: ['--token', given] });
    expect((await request(other.url, '/v2', { token: given })).status).toBe(200);
    // No token file is made for a given token, and `nbdeploy token` makes none either.
    const bare = token(other.stateDir);
    expect(bare.status).toBe(1);
    expect(bare.stderr).toContain(`the service running on ${other.url}`);
    expect(bare.stderr).toContain('was given its token with --token or NBDEPLOY_TOKEN');
    expect(existsSync(path.join(other.stateDir, 'token'))).toBe(false);
    expect(token(other.stateDir, { NBDEPLOY_TOKEN: given })).toMatchObject({ status: 0, stdout: `${given}\n` });
    expect(token(other.stateDir, { NBDEPLOY_TOKEN: 'another-token-of-32-characters!!' }).status).toBe(1);
    await other.stop();

    // A state dir whose file holds the token of an earlier start, now running with another one.
    const stateDir = other.stateDir;
    const earlier = await startService({ stateDir });
    const fileToken = earlier.token;
    await earlier.stop();
    const again = await startService({ stateDir, args: ['--token', given] });
    const refused = token(stateDir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`${path.join(stateDir, 'token')} holds another one`);
    expect((await request(again.url, '/v2', { token: fileToken })).status).toBe(401);
    await again.stop();
    // Once no service runs there, the file is what the next start without --token uses.
    expect(token(stateDir)).toMatchObject({ status: 0, stdout: `${fileToken}\n` });
  });

  it('should make nothing when there is no token yet, and say where it will be', () => {
    const stateDir = path.join(makeTempDir(), 'never-started');
    const run = token(stateDir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`no token yet: ${path.join(stateDir, 'token')} does not exist`);
    expect(existsSync(stateDir)).toBe(false);
  });
});

/** `nbdeploy token --state-dir DIR`, with NBDEPLOY_TOKEN only as `env` says. */
function token(stateDir: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const base = { ...process.env };
  delete base.NBDEPLOY_TOKEN;
  const run = spawnSync(process.execPath, [BIN, 'token', '--state-dir', stateDir], { encoding: 'utf8', env: { ...base, ...env } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

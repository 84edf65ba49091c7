/**
 * A small HTTP client on node:http (so that tests control Content-Length, chunked bodies,
 * connections and agents), and the service's REST calls built on it.
 */
import http, { type Agent, type IncomingHttpHeaders } from 'node:http';
import type { ServiceProcess } from './service.js';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body's bytes (binary responses). */
  body: Buffer;
  /** The body parsed as JSON (throws with the text when it is not JSON). */
  json<T = any>(): T;
}

export interface RequestOptions {
  method?: string;
  /** A string or Buffer is sent as is; anything else as JSON. */
  body?: unknown;
  /** The bearer token; null sends no Authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
  /** Send the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked?: boolean;
  /** A keep-alive agent for load tests; by default each request has its own connection. */
  agent?: Agent | false;
  /** Called once the whole request has been handed to the operating system. */
  onSent?: () => void;
}

export function request(baseUrl: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
  const { method = options.body === undefined ? 'GET' : 'POST', token = null, chunked = false, agent = false } = options;
  const headers: Record<string, string> = { ...options.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: Buffer | undefined;
  if (options.body !== undefined) {
    body = Buffer.isBuffer(options.body) ? options.body : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
    headers['content-type'] ??= 'application/json';
    if (!chunked) headers['content-length'] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, baseUrl), { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          text,
          body,
          json() {
            try {
              return JSON.parse(text);
            } catch {
              throw new Error(`not JSON (status ${res.statusCode}): ${text.slice(0, 500)}`);
            }
          }
        });
      });
    });
    req.on('error', reject);
    if (options.onSent) req.on('finish', options.onSent);
    if (body && chunked) {
      // Several chunks, so that the service cannot know the size before reading.
      const size = 16 * 1024;
      for (let at = 0; at < body.length; at += size) req.write(body.subarray(at, at + size));
      req.end();
    } else {
      req.end(body);
    }
  });
}

export interface TensorJson {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

/** The service's REST surface, with its token. */
export class RestClient {
  constructor(
    readonly service: ServiceProcess,
    readonly agent: Agent | false = false
  ) {}

  get(path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    return request(this.service.url, path, { token: this.service.token, agent: this.agent, ...options, method: 'GET' });
  }

  post(path: string, body?: unknown, options: RequestOptions = {}): Promise<HttpResponse> {
    return request(this.service.url, path, { token: this.service.token, agent: this.agent, ...options, method: 'POST', body: body ?? '' });
  }

  /** POST /v2/models/{model}[/versions/{v}]/infer */
  infer(model: string, inputs: TensorJson[], version?: number, extra: Record<string, unknown> = {}): Promise<HttpResponse> {
    const route = version === undefined ? `/v2/models/${model}/infer` : `/v2/models/${model}/versions/${version}/infer`;
    return this.post(route, { inputs, ...extra });
  }

  /**
   * Triton's repository load: `files` become `file:1/<name>` parameters (base64);
   * without files it serves an unloaded model again.
   */
  load(model: string, files: Record<string, Uint8Array> = {}, config?: Record<string, unknown>): Promise<HttpResponse> {
    const parameters: Record<string, string> = {};
    for (const [name, bytes] of Object.entries(files)) parameters[`file:1/${name}`] = Buffer.from(bytes).toString('base64');
    if (config) parameters.config = JSON.stringify(config);
    return this.post(`/v2/repository/models/${model}/load`, Object.keys(parameters).length ? { parameters } : {});
  }

  /** Loads a model and fails the test unless it was registered. */
  async register(model: string, files: Record<string, Uint8Array>, config?: Record<string, unknown>): Promise<{ model_version: string; created: boolean; sha256: string }> {
    const res = await this.load(model, files, config);
    if (res.status !== 200) throw new Error(`loading "${model}" failed: ${res.status} ${res.text}`);
    return res.json();
  }

  unload(model: string): Promise<HttpResponse> {
    return this.post(`/v2/repository/models/${model}/unload`);
  }

  async index(): Promise<Array<{ name: string; version: string; state: string; reason: string; stage: string }>> {
    const res = await this.post('/v2/repository/index');
    if (res.status !== 200) throw new Error(`repository index failed: ${res.status} ${res.text}`);
    return res.json();
  }

  async metrics(): Promise<string> {
    const res = await this.get('/metrics');
    if (res.status !== 200) throw new Error(`/metrics failed: ${res.status} ${res.text}`);
    return res.text;
  }
}

/** A sample's value from Prometheus text, matching every given label (0 when absent). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const labelText = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    const have = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

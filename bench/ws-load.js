// WebSocket load for nbdeploy's /ws endpoint: N clients, each keeping up to `depth`
// binary infer frames in flight (pipelined), one row per request. Each frame is
// u32 LE header length + JSON header + the raw FP32 row; replies are binary frames of the
// same layout (errors come back as JSON text frames).
//
// Exports runWsLoad(); see bench/run.js. Latencies are measured per request from send to
// reply, in milliseconds, for requests answered inside the measured window.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { loadState, measureWindow } from './load-window.js';

const RING = 4096; // send times, indexed by request id; must exceed `depth`

/**
 * @param {object} o
 * @param {string} o.url       the service's http://host:port
 * @param {string} o.token     bearer token
 * @param {string} o.model     model name
 * @param {string} o.input     input tensor name
 * @param {number[]} o.row     one row of FP32 features (all rows of a request, with o.rows)
 * @param {number} [o.rows]    rows per request (default 1): o.row holds them all, one after another
 * @param {number} o.clients   concurrent connections
 * @param {number} o.depth     requests in flight per connection
 * @param {number} o.warmupMs  load before measuring
 * @param {number} o.durationMs measured window
 * @param {(header: object, payload: Buffer) => void} [o.check] called on the first reply
 * @param {() => void} [o.onWindowStart] called as the measured window opens
 * @param {() => void} [o.onWindowEnd] called as it closes
 */
export async function runWsLoad(o) {
  if (o.depth >= RING) throw new Error(`depth must be below ${RING}`);
  const wsUrl = o.url.replace(/^http/, 'ws') + '/ws';
  const row = Buffer.from(new Float32Array(o.row).buffer);
  const headHead = '{"type":"infer","id":';
  const rows = o.rows ?? 1;
  const headTail = `,"model":${JSON.stringify(o.model)},"inputs":[{"name":${JSON.stringify(o.input)},"datatype":"FP32","shape":[${rows},${o.row.length / rows}]}]}`;

  const state = loadState();

  const sockets = await Promise.all(Array.from({ length: o.clients }, () => open(wsUrl, o.token)));
  const finished = sockets.map((ws) => drive(ws));

  function drive(ws) {
    const sentAt = new Float64Array(RING);
    let nextId = 1;
    let inflight = 0;
    return new Promise((resolve) => {
      const send = () => {
        const id = nextId++;
        const header = Buffer.from(headHead + id + headTail, 'utf8');
        const frame = Buffer.allocUnsafe(4 + header.length + row.length);
        frame.writeUInt32LE(header.length, 0);
        header.copy(frame, 4);
        row.copy(frame, 4 + header.length);
        sentAt[id % RING] = performance.now();
        inflight++;
        ws.send(frame);
      };
      ws.on('message', (data, isBinary) => {
        const now = performance.now();
        let id;
        if (isBinary) {
          const length = data.readUInt32LE(0);
          const header = JSON.parse(data.toString('utf8', 4, 4 + length));
          id = header.id;
          if (!state.checked && o.check) {
            state.checked = true;
            try {
              o.check(header, data.subarray(4 + length));
            } catch (error) {
              state.checkError = error;
            }
          }
          if (state.measuring && now <= state.windowEnd) {
            state.done++;
            state.latencies.push(now - sentAt[id % RING]);
          }
        } else {
          const msg = JSON.parse(data.toString('utf8'));
          if (msg.type !== 'error') return; // e.g. the welcome frame
          id = msg.id;
          if (state.measuring && now <= state.windowEnd) state.errors++;
          state.firstError ??= msg;
        }
        inflight--;
        if (!state.stopping) send();
        else if (inflight === 0) resolve();
      });
      ws.on('close', () => resolve());
      for (let i = 0; i < o.depth; i++) send();
    });
  }

  return measureWindow(o, state, finished, () => {
    for (const ws of sockets) ws.close();
  });
}

function open(url, token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    ws.once('error', reject);
    ws.once('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.type !== 'welcome') reject(new Error(`expected a welcome frame, got ${data}`));
      else resolve(ws);
    });
  });
}

/** Sends one frame on a fresh connection and returns the JSON reply that repeats `id` (an `error` reply rejects). */
async function requestOnce(url, token, id, frame) {
  const ws = await open(url.replace(/^http/, 'ws') + '/ws', token);
  try {
    return await new Promise((resolve, reject) => {
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const msg = JSON.parse(data.toString());
        if (msg.id !== id) return;
        if (msg.type === 'error') reject(new Error(`${msg.code}: ${msg.error}`));
        else resolve(msg);
      });
      ws.on('error', reject);
      ws.send(frame);
    });
  } finally {
    ws.close();
  }
}

/** Sends one JSON text frame on a fresh connection and returns the reply with the same id. */
export function wsRequest(url, token, message) {
  return requestOnce(url, token, message.id, JSON.stringify(message));
}

/** Sends one binary frame (header + payload) on a fresh connection and returns the reply with the header's id. */
export function registerBinary(url, token, header, payload) {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length, 0);
  return requestOnce(url, token, header.id, Buffer.concat([length, json, payload]));
}

/** A live subscriber of a model that counts the events it gets, by kind. */
export async function subscribe(url, token, model) {
  const ws = await open(url.replace(/^http/, 'ws') + '/ws', token);
  const counts = new Map();
  await new Promise((resolve, reject) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.type === 'event') counts.set(msg.kind, (counts.get(msg.kind) ?? 0) + 1);
      else if (msg.type === 'subscribed') resolve();
      else if (msg.type === 'error') reject(new Error(`${msg.code}: ${msg.error}`));
    });
    ws.send(JSON.stringify({ type: 'subscribe', id: 's', model }));
  });
  return { count: (kind) => counts.get(kind) ?? 0, close: () => ws.close() };
}

/**
 * A training profile for the iris model's four features: 1,000 seeded draws around the
 * fixture rows' means, so that monitoring fills its drift reservoirs for every row served.
 */
export function irisProfile(rows) {
  const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
  let s = 12345;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const features = {};
  names.forEach((name, j) => {
    const mean = rows.reduce((a, r) => a + r[j], 0) / rows.length;
    features[name] = { kind: 'numeric', null_rate: 0, sample: Array.from({ length: 1000 }, () => mean + (u() - 0.5)) };
  });
  return { features };
}

/**
 * Asks one request over and over on one connection, the next as soon as the previous one is
 * answered (the worst case for a long query). `stop()` resolves with each answer's time in ms
 * and the error replies; a reply `check` throws for ends the loop with that error.
 */
export async function askRepeatedly(url, token, message, check = () => {}) {
  const ws = await open(url.replace(/^http/, 'ws') + '/ws', token);
  const latencies = [];
  let errors = 0;
  let failure = null;
  let stopping = false;
  let id = 0;
  let sentAt = 0;
  let resolveStopped;
  const stopped = new Promise((resolve) => (resolveStopped = resolve));
  const send = () => {
    if (stopping) return resolveStopped();
    sentAt = performance.now();
    ws.send(JSON.stringify({ ...message, id: ++id }));
  };
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const msg = JSON.parse(data.toString());
    if (msg.id !== id) return;
    if (msg.type === 'error') errors++;
    else {
      latencies.push(performance.now() - sentAt);
      try {
        check(msg);
      } catch (error) {
        failure ??= error;
        stopping = true;
      }
    }
    send();
  });
  send();
  return {
    async stop() {
      stopping = true;
      await stopped;
      ws.close();
      if (failure) throw failure;
      return { latencies, errors };
    }
  };
}

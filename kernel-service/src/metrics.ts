/**
 * Prometheus metrics (prom-client), recorded around every inference by model and version.
 * Each service has its own prom-client registry, so two services in one process (tests)
 * do not mix their counts.
 */
import client from 'prom-client';

export type Transport = 'http' | 'ws' | 'grpc';

export class ServiceMetrics {
  readonly registry = new client.Registry();

  readonly requests = new client.Counter({
    name: 'nbdeploy_inference_requests_total',
    help: 'Inference requests answered, by model, version, transport and outcome',
    labelNames: ['model', 'version', 'transport', 'outcome'] as const,
    registers: [this.registry]
  });

  readonly rows = new client.Counter({
    name: 'nbdeploy_inference_rows_total',
    help: 'Rows (predictions) served, by model and version',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry]
  });

  readonly latency = new client.Histogram({
    name: 'nbdeploy_inference_duration_seconds',
    help: 'Time from a request reaching the data plane to its outputs, by model and version',
    labelNames: ['model', 'version'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry]
  });

  readonly errors = new client.Counter({
    name: 'nbdeploy_inference_errors_total',
    help: 'Failed inference requests, by model, version and error code',
    labelNames: ['model', 'version', 'code'] as const,
    registers: [this.registry]
  });

  readonly batchSize = new client.Histogram({
    name: 'nbdeploy_batch_rows',
    help: 'Rows in each onnxruntime run, by model and version',
    labelNames: ['model', 'version'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [this.registry]
  });

  readonly loadedVersions = new client.Gauge({
    name: 'nbdeploy_loaded_versions',
    help: 'Model versions loaded in onnxruntime',
    registers: [this.registry]
  });

  readonly inferenceWorkers = new client.Gauge({
    name: 'nbdeploy_inference_workers',
    help: 'Worker threads running onnxruntime sessions (every instance of every loaded version)',
    registers: [this.registry]
  });

  readonly workerRestarts = new client.Counter({
    name: 'nbdeploy_inference_worker_restarts_total',
    help: 'Inference worker threads that stopped unexpectedly and were replaced, by model and version',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry]
  });

  /** What the queued-requests gauge reads when scraped (the model server sets it). */
  queues: () => ReadonlyArray<{ model: string; version: number; queued: number }> = () => [];

  readonly queuedRequests = new client.Gauge({
    name: 'nbdeploy_queued_requests',
    help: 'Requests waiting for a run, by model and version (each version refuses past its max_queue_size)',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
    collect: () => {
      this.queuedRequests.reset();
      for (const q of this.queues()) this.queuedRequests.set({ model: q.model, version: String(q.version) }, q.queued);
    }
  });

  readonly wsConnections = new client.Gauge({
    name: 'nbdeploy_websocket_connections',
    help: 'Open WebSocket connections on /ws',
    registers: [this.registry]
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'nbdeploy_process_' });
  }

  /** Label children for one model version, looked up once rather than per request. */
  forVersion(model: string, version: number): VersionMetrics {
    const labels = { model, version: String(version) };
    return {
      latency: this.latency.labels(labels),
      rows: this.rows.labels(labels),
      batchSize: this.batchSize.labels(labels),
      ok: {
        http: this.requests.labels({ ...labels, transport: 'http', outcome: 'ok' }),
        ws: this.requests.labels({ ...labels, transport: 'ws', outcome: 'ok' }),
        grpc: this.requests.labels({ ...labels, transport: 'grpc', outcome: 'ok' })
      },
      failed: {
        http: this.requests.labels({ ...labels, transport: 'http', outcome: 'error' }),
        ws: this.requests.labels({ ...labels, transport: 'ws', outcome: 'error' }),
        grpc: this.requests.labels({ ...labels, transport: 'grpc', outcome: 'error' })
      },
      error: (code: string) => this.errors.inc({ ...labels, code })
    };
  }
}

interface Observer {
  observe(value: number): void;
}
interface Incrementer {
  inc(value?: number): void;
}

export interface VersionMetrics {
  latency: Observer;
  rows: Incrementer;
  batchSize: Observer;
  ok: Record<Transport, Incrementer>;
  failed: Record<Transport, Incrementer>;
  error: (code: string) => void;
}

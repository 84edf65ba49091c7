/**
 * The service's replies on `/ws` that the notebook API reads, as zod schemas (the requests'
 * schemas are the service's own, in ../protocol/notebook.ts). Objects are loose: a newer
 * service may add fields, which pass through untouched.
 */
import { z } from 'zod';
import { DATATYPES } from '../protocol/datatypes.js';
import type { ModelView } from '../protocol/views.js';

export const TensorSpec = z.looseObject({ name: z.string(), datatype: z.enum(DATATYPES), shape: z.array(z.number()) });
export const ServiceSignature = z.looseObject({
  inputs: z.array(TensorSpec),
  outputs: z.array(TensorSpec),
  batchable: z.boolean()
});

export const Welcome = z.looseObject({
  type: z.literal('welcome'),
  protocol: z.number(),
  server: z.looseObject({ name: z.string(), version: z.string() }),
  user: z.string().optional()
});
export type Welcome = z.infer<typeof Welcome>;

export const ErrorReply = z.looseObject({
  type: z.literal('error'),
  code: z.string(),
  error: z.string(),
  status: z.number().optional()
});

const Review = z.looseObject({ decision: z.string(), by: z.string(), at: z.string(), comment: z.string() });

export const Model: z.ZodType<ModelView> = z.looseObject({
  name: z.string(),
  created_at: z.string(),
  deployment: z.looseObject({
    serving: z.boolean(),
    production: z.number().nullable(),
    canary: z.looseObject({ version: z.number(), percent: z.number() }).nullable(),
    shadows: z.array(z.number()),
    integrity_policy: z.record(z.string(), z.string()),
    capture: z.looseObject({ rate: z.number(), retention_days: z.number() }).nullable(),
    updated_at: z.string()
  }),
  versions: z.array(
    z.looseObject({
      version: z.number(),
      sha256: z.string(),
      stage: z.string(),
      created_at: z.string(),
      created_by: z.string(),
      signature: ServiceSignature,
      metadata: z.record(z.string(), z.unknown()),
      batching: z.looseObject({ max_batch_size: z.number(), max_queue_delay_us: z.number(), instances: z.number(), max_queue_size: z.number() }),
      validation: z
        .looseObject({
          id: z.number(),
          passed: z.boolean(),
          created_at: z.string(),
          created_by: z.string(),
          review: Review.nullable()
        })
        .nullable(),
      production_gate: z.looseObject({ open: z.boolean(), reason: z.string().nullable() })
    })
  )
});

export const ModelReply = z.looseObject({ type: z.literal('model'), model: Model });
export const ModelsReply = z.looseObject({ type: z.literal('models'), models: z.array(Model) });
export const DeploymentReply = z.looseObject({ type: z.literal('deployment'), model: Model });

export const Registered = z.looseObject({
  type: z.literal('registered'),
  model: z.string(),
  version: z.number(),
  sha256: z.string(),
  created: z.boolean(),
  signature: ServiceSignature
});

export const InferResult = z.looseObject({
  type: z.literal('infer_result'),
  model_name: z.string(),
  model_version: z.union([z.string(), z.number()]),
  request_id: z.string(),
  outputs: z.array(TensorSpec)
});

export const FeedbackRecorded = z.looseObject({ type: z.literal('feedback_recorded'), model: z.string(), count: z.number() });

export const ValidationRecorded = z.looseObject({
  type: z.literal('validation_recorded'),
  validation: z.looseObject({ id: z.number(), passed: z.boolean() })
});

/** `validation_page`: a stored report as a standalone HTML page. */
export const ValidationPageReply = z.looseObject({
  type: z.literal('validation_page'),
  validation_id: z.number(),
  html: z.string()
});

const Nullable = <T extends z.ZodType>(schema: T) => schema.nullable();

/** `monitor`: the chart's payload (see monitoring/monitor-payload.ts), the `status` of its span, its SVG when asked, and its text summary. */
export const MonitorReply = z.looseObject({
  type: z.literal('monitor'),
  payload: z.looseObject({ model: z.string(), series: z.looseObject({}), spec: z.looseObject({}) }),
  status: z.looseObject({}),
  text: z.string(),
  svg: z.string().optional()
});

export const StatusReply = z.looseObject({
  type: z.literal('status'),
  model: z.string(),
  version: z.number().nullable(),
  window_seconds: z.number(),
  from: z.string(),
  to: z.string(),
  ops: z.looseObject({
    requests: z.number(),
    errors: z.number(),
    error_rate: z.number().nullable(),
    rows: z.number(),
    throughput_per_s: z.number().nullable(),
    latency_ms: z.looseObject({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() })
  }),
  drift: z.record(z.string(), Nullable(z.looseObject({ method: z.string(), statistic: z.number(), p_value: z.number().nullable(), threshold: z.number(), drifted: z.boolean() }))),
  drift_share: z.number().nullable(),
  prediction_drift: z.looseObject({ method: z.string(), statistic: z.number(), p_value: z.number().nullable(), threshold: z.number(), drifted: z.boolean() }).nullable(),
  performance: z.record(z.string(), z.number().nullable()),
  concept_drift: z.looseObject({ detector: z.string(), detected: z.boolean(), at: z.string().nullable() }).nullable(),
  versions: z.array(z.looseObject({ version: z.number(), role: z.string() }))
});

export const AuditEntry = z.looseObject({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  notebook: z.string().nullable(),
  /** The Jupyter cell the change came from (older services do not send it). */
  cell: z.string().nullable().optional(),
  action: z.string(),
  model: z.string().nullable(),
  version: z.number().nullable(),
  details: z.record(z.string(), z.unknown())
});
export type AuditEntry = z.infer<typeof AuditEntry>;
export const AuditReply = z.looseObject({ type: z.literal('audit'), entries: z.array(AuditEntry) });

/** An alert as the service lists it (monitoring/alerts.ts's AlertView; fields pass through). */
export const AlertReplyItem = z.looseObject({ id: z.number(), model: z.string(), rule: z.string(), state: z.string(), severity: z.string(), message: z.string() });
export const AlertsReply = z.looseObject({ type: z.literal('alerts'), alerts: z.array(AlertReplyItem) });
export const AlertRulesReply = z.looseObject({
  type: z.literal('alert_rules'),
  model: z.string(),
  rules: z.array(z.looseObject({ name: z.string(), metric: z.string(), condition: z.string() })),
  custom: z.boolean(),
  webhooks: z.array(z.string()),
  service_webhooks: z.number()
});

/** The registry as rows, one per version: `nd.models()` and `nbdeploy models` show these. */
import type { ModelView } from '../protocol/views.js';
import type { ModelRow } from './types.js';

/** A version's part in its model's traffic: "production", "canary 20%", "shadow", "" — or "unloaded". */
function trafficRole(model: ModelView, version: number): string {
  const d = model.deployment;
  if (!d.serving) return 'unloaded';
  if (d.production === version) return 'production';
  if (d.canary && d.canary.version === version) return `canary ${d.canary.percent}%`;
  return d.shadows.includes(version) ? 'shadow' : '';
}

export function modelRows(models: readonly ModelView[]): ModelRow[] {
  return models.flatMap((m) =>
    m.versions.map((v) => ({
      model: m.name,
      version: v.version,
      stage: v.stage,
      traffic: trafficRole(m, v.version),
      validated: v.validation ? v.validation.passed : null,
      review: v.validation?.review?.decision ?? null,
      created_at: v.created_at,
      created_by: v.created_by,
      sha256: v.sha256.slice(0, 12)
    }))
  );
}

/**
 * Monitoring in Prometheus, beside the serving metrics of metrics.ts: per deployment the
 * drift share and each feature's drift statistic, performance from ground truth (all over
 * the last 15 minutes, the span `status` answers by default, read from the monitoring
 * worker when scraped), the integrity violations counted as requests are served, and the
 * alerts firing now.
 */
import client from 'prom-client';
import type { ServiceMetrics } from '../metrics.js';
import type { Registry } from '../registry/registry.js';
import type { InferenceEvent } from '../serving/data-plane.js';
import type { AlertEngine } from './alerts.js';
import type { Monitor } from './monitor.js';

/** The span the drift and performance gauges describe (seconds). */
export const SCRAPE_SPAN_SECONDS = 900;

export interface MonitoringSources {
  registry: Registry;
  monitor: Monitor;
  alerts: AlertEngine;
  log: (message: string) => void;
}

/** Registers the monitoring gauges; returns the observer that counts integrity violations. */
export function registerMonitoringMetrics(metrics: ServiceMetrics, sources: MonitoringSources): (event: InferenceEvent) => void {
  const registers = [metrics.registry];
  const driftShare = new client.Gauge({
    name: 'nbdeploy_drift_share',
    help: `Share of a deployment's features drifted over the last ${SCRAPE_SPAN_SECONDS / 60} minutes, by model and version`,
    labelNames: ['model', 'version'] as const,
    registers,
    collect: () => collectStatus()
  });
  const featureDrift = new client.Gauge({
    name: 'nbdeploy_feature_drift',
    help: `Drift statistic of each feature over the last ${SCRAPE_SPAN_SECONDS / 60} minutes against the training profile, by model, version, feature and method (ks, chisquare, wasserstein, jensenshannon, psi)`,
    labelNames: ['model', 'version', 'feature', 'method'] as const,
    registers,
    collect: () => collectStatus()
  });
  const performance = new client.Gauge({
    name: 'nbdeploy_performance',
    help: `Performance from ground truth over the last ${SCRAPE_SPAN_SECONDS / 60} minutes, by model, version and metric (accuracy, precision, recall, f1, roc_auc, mae, rmse)`,
    labelNames: ['model', 'version', 'metric'] as const,
    registers,
    collect: () => collectStatus()
  });
  const integrity = new client.Counter({
    name: 'nbdeploy_integrity_violations_total',
    help: 'Values of served requests with a data integrity violation, by model, version and kind',
    labelNames: ['model', 'version', 'kind'] as const,
    registers
  });
  const firing = new client.Gauge({
    name: 'nbdeploy_alerts_firing',
    help: 'Alerts firing now, by model, rule and severity',
    labelNames: ['model', 'rule', 'severity'] as const,
    registers,
    async collect() {
      const alerts = await sources.alerts.alerts({ state: 'firing', limit: 10_000 });
      firing.reset();
      for (const a of alerts) {
        firing.inc({ model: a.model, rule: a.rule, severity: a.severity });
      }
    }
  });
  new client.Gauge({
    name: 'nbdeploy_alert_leader',
    help: 'Whether this replica evaluates the alert rules of the service (one replica does, for all)',
    registers,
    collect() {
      this.set(sources.alerts.leading ? 1 : 0);
    }
  });
  // One status per serving model answers the three gauges above: prom-client asks each
  // gauge's collect at once, and the first one's reading serves all three.
  let scrape: Promise<void> | null = null;
  const readStatus = async (): Promise<void> => {
    driftShare.reset();
    featureDrift.reset();
    performance.reset();
    for (const summary of await sources.registry.listModels()) {
      if (!summary.deployment.serving) continue;
      try {
        const status = await sources.monitor.status(summary.name, SCRAPE_SPAN_SECONDS);
        if (status.version === null) continue;
        const labels = { model: summary.name, version: String(status.version) };
        if (status.drift_share !== null) driftShare.set(labels, status.drift_share);
        for (const [feature, entry] of Object.entries(status.drift)) {
          if (entry) featureDrift.set({ ...labels, feature, method: entry.method }, entry.statistic);
        }
        for (const [metric, value] of Object.entries(status.performance)) {
          if (metric !== 'labelled' && metric !== 'labelled_share' && typeof value === 'number') performance.set({ ...labels, metric }, value);
        }
      } catch (error) {
        sources.log(`/metrics: the monitoring of "${summary.name}" could not be read: ${(error as Error).message}`);
      }
    }
  };
  const collectStatus = async (): Promise<void> => {
    scrape ??= readStatus().finally(() => {
      scrape = null;
    });
    await scrape;
  };
  return (event) => {
    if (event.shadow || !event.integrity) return;
    for (const v of event.integrity.violations) {
      integrity.inc({ model: event.model, version: String(event.version), kind: v.kind }, v.rows);
    }
  };
}

/**
 * Alerting: evaluates each deployment's rules against its monitoring status when its
 * windows change (at most once a second, off the inference path), and moves each rule
 * through its states — quiet → firing → resolved, then quiet for the rule's cool-down —
 * recording every alert and telling listeners (live subscribers, the audit log, webhooks)
 * when one fires or resolves.
 */
import type { Registry } from '../registry/registry.js';
import {
  type AlertRule,
  type AlertRuleInput,
  DEFAULT_RULES,
  OPS_METRICS,
  breaches,
  formatValue,
  measure,
  metricLabel,
  resolveThreshold,
  ruleWindowSeconds,
  rulesFrom
} from './alert-rules.js';
import type { AlertQuery, AlertRecord, AlertStore } from './alert-store.js';
import type { AlertView, StatusOptions, StatusView } from './views.js';

export function alertView(a: AlertRecord): AlertView {
  return {
    id: a.id,
    model: a.model,
    version: a.version,
    rule: a.rule,
    metric: a.metric,
    severity: a.severity,
    state: a.state,
    condition: a.condition,
    value: a.value,
    threshold: a.threshold,
    window_seconds: a.windowSeconds,
    fired_at: new Date(a.firedAt).toISOString(),
    resolved_at: a.resolvedAt === null ? null : new Date(a.resolvedAt).toISOString(),
    resolved_value: a.resolvedValue,
    message: a.message
  };
}

export interface AlertEngineOptions {
  /** The monitor's window length: rules without a window look at five of them. */
  monitorWindowSeconds: number;
  /** Resolved alerts older than this are dropped (ms). */
  retentionMs: number;
  /**
   * Rules on drift, performance, integrity and concept drift (whose status costs drift tests)
   * are evaluated at most this often per model (ms); rules on operations every update.
   */
  slowRulesEveryMs: number;
  now: () => number;
  /** This replica's name for the alert lead (replicas of one service evaluate the rules once, on the leader). */
  replica: string;
  /** How long the lead lasts without being renewed: a leader that dies is replaced within it (ms). */
  leadTtlMs: number;
}

/** The monitoring status of a model over the last `seconds` (the monitor's `status`). */
export type StatusSource = (model: string, lastSeconds: number, options: StatusOptions) => StatusView | Promise<StatusView>;

/** Told of each alert that fires or resolves, in order: the next waits for what it returns. */
export type AlertListener = (alert: AlertView) => void | Promise<void>;

export class AlertEngine {
  constructor(
    private readonly _registry: Registry,
    private readonly _store: AlertStore,
    private readonly _status: StatusSource,
    options: Partial<AlertEngineOptions> & Pick<AlertEngineOptions, 'monitorWindowSeconds'>
  ) {
    this.options = {
      retentionMs: 7 * 24 * 3600 * 1000,
      slowRulesEveryMs: 10_000,
      now: () => Date.now(),
      replica: `${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
      leadTtlMs: 5_000,
      ...options
    };
    // The alerts still firing, read once; what changes alerts waits for them.
    this._loaded = this._loadFiring();
    // (A failure is the first change's to report.)
    this._loaded.catch(() => {});
  }

  /**
   * Called on a replica that does not lead with every alert the leader fired or resolved (its
   * live subscribers hear of it; webhooks and the audit log are the leader's to tell).
   */
  onAlertElsewhere(listener: AlertListener): void {
    this._elsewhere.push(listener);
  }

  /** Whether this replica evaluated the rules last time (the fleet's leader). */
  get leading(): boolean {
    return this._leading;
  }

  /** Rules changed elsewhere (another replica) are read again when next needed. */
  forgetRules(): void {
    this._rules.clear();
  }

  /** Gives the lead up (shutdown): another replica takes it at its next evaluation. */
  async stop(): Promise<void> {
    this._stopped = true;
    await this._store.releaseLead(this.options.replica);
  }

  readonly options: AlertEngineOptions;

  /** Called with every alert that fires or resolves. */
  onAlert(listener: AlertListener): void {
    this._listeners.push(listener);
  }

  /** The deployment's rules (its own, or the defaults) and whether they are its own. */
  async rules(model: string): Promise<{ rules: AlertRule[]; custom: boolean }> {
    const own = await this._rulesOf(model);
    return { rules: own.rules.map((r) => ({ ...r })), custom: own.custom };
  }

  /**
   * Replaces the deployment's rules (null: back to the defaults). Throws a RangeError naming
   * a bad rule. Alerts of rules that no longer exist or are disabled resolve.
   */
  async setRules(model: string, inputs: readonly AlertRuleInput[] | null): Promise<{ rules: AlertRule[]; custom: boolean }> {
    const rules = inputs === null ? null : rulesFrom(inputs);
    await this._loaded;
    await this._store.saveRules(model, rules);
    // Cached as saved: a read of the old rules still under way finds these and leaves them.
    this._rules.set(model, rules ? { rules, custom: true } : { rules: DEFAULT_RULES, custom: false });
    const now = this.options.now();
    // Only the leader moves alerts (the others' view of what fires may be stale); its next evaluation resolves them otherwise.
    if (!this._leading) return this.rules(model);
    const active = new Set((rules ?? DEFAULT_RULES).filter((r) => r.enabled).map((r) => r.name));
    for (const [k, a] of [...this._firing]) {
      if (a.model === model && !active.has(a.rule)) await this._resolve(k, a, now, null, 'its rule was removed or disabled');
    }
    return this.rules(model);
  }

  webhooks(model: string): Promise<string[]> {
    return this._store.loadWebhooks(model);
  }

  async setWebhooks(model: string, urls: readonly string[]): Promise<string[]> {
    await this._store.saveWebhooks(model, [...new Set(urls)]);
    return this.webhooks(model);
  }

  async alerts(query: AlertQuery): Promise<AlertView[]> {
    return (await this._store.alerts(query)).map(alertView);
  }

  /** Models with an alert firing now. */
  get firingModels(): Set<string> {
    return new Set([...this._firing.values()].map((a) => a.model));
  }

  /**
   * Evaluates the rules of these models (those whose windows changed) and of every model
   * with an alert firing (so that alerts resolve when traffic stops). Resolves with the alerts
   * that fired or resolved. One evaluation runs at a time: models asked for meanwhile are
   * evaluated together in the next one (the status comes from the monitoring worker).
   */
  evaluate(models: Iterable<string>): Promise<AlertView[]> {
    for (const m of models) this._queued.add(m);
    // (A failed evaluation is its caller's to report; the next one runs regardless.)
    this._next ??= this._running
      .catch(() => [])
      .then(() => {
        this._next = null;
        const asked = [...this._queued];
        this._queued.clear();
        this._running = this._evaluate(asked);
        return this._running;
      });
    return this._next;
  }

  // --- internals -------------------------------------------------------------------

  private async _evaluate(models: readonly string[]): Promise<AlertView[]> {
    await this._loaded;
    const now = this.options.now();
    if (this._stopped) return [];
    if (!(await this._lead(now))) {
      await this._follow();
      return [];
    }
    const changed: AlertView[] = [];
    const all = new Set(models);
    for (const m of this.firingModels) all.add(m);
    for (const model of all) {
      if (!(await this._registry.getModel(model))) continue;
      changed.push(...(await this._evaluateModel(model, now)));
    }
    if (now - this._lastPrune >= 3600_000) {
      this._lastPrune = now;
      await this._store.prune(now - this.options.retentionMs);
    }
    return changed;
  }

  private async _evaluateModel(model: string, now: number): Promise<AlertView[]> {
    const { rules } = await this._rulesOf(model);
    const statuses = new Map<string, StatusView>();
    const changed: AlertView[] = [];
    const slowDue = now - (this._lastSlow.get(model) ?? -Infinity) >= this.options.slowRulesEveryMs;
    if (slowDue) this._lastSlow.set(model, now);
    const active = new Set(rules.filter((r) => r.enabled).map((r) => r.name));
    for (const [k, a] of [...this._firing]) {
      if (a.model === model && !active.has(a.rule)) changed.push(await this._resolve(k, a, now, null, 'its rule was removed or disabled'));
    }
    let validated: Record<string, unknown> | null | undefined;
    for (const r of rules) {
      if (!r.enabled) continue;
      const ops = OPS_METRICS.has(r.metric);
      if (!ops && !slowDue) continue;
      const seconds = ruleWindowSeconds(r, this.options.monitorWindowSeconds);
      const statusKey = `${seconds}/${ops}`;
      let status = statuses.get(statusKey);
      if (!status) statuses.set(statusKey, (status = await this._status(model, seconds, { drift: !ops })));
      const m = measure(r.metric, status);
      if (m === undefined) continue;
      if (validated === undefined && typeof r.threshold === 'string') validated = await this._validated(model, status.version);
      const threshold = resolveThreshold(r, validated);
      const k = key(model, r.name);
      const firing = this._firing.get(k);
      if (threshold === null) continue;
      if (m.value === null || m.count < r.min_count) {
        // Nothing measured in the span at all (traffic stopped): the condition no longer holds.
        if (firing && m.count === 0) changed.push(await this._resolve(k, firing, now, null, `no data over the last ${seconds} s`));
        continue;
      }
      const breached = breaches(m.value, r.condition, threshold);
      if (firing && !breached) {
        changed.push(await this._resolve(k, firing, now, m.value, `${metricLabel(r.metric)} ${formatValue(m.value)} is back within ${r.condition} ${formatValue(threshold)}`));
      } else if (!firing && breached && (await this._cooledDown(model, r, now))) {
        changed.push(await this._fire(k, model, status.version, r, m.value, threshold, seconds, now));
      }
    }
    return changed;
  }

  private async _fire(k: string, model: string, version: number | null, r: AlertRule, value: number, threshold: number, seconds: number, now: number): Promise<AlertView> {
    const relative = typeof r.threshold === 'string' ? ` (${r.threshold.trim()})` : '';
    const where = version === null ? `"${model}"` : `"${model}" version ${version}`;
    const message = `${metricLabel(r.metric)} of ${where} is ${formatValue(value)}, ${r.condition} ${formatValue(threshold)}${relative}, over the last ${seconds} s`;
    const record = await this._store.insertAlert({
      model,
      version,
      rule: r.name,
      metric: r.metric,
      severity: r.severity,
      condition: r.condition,
      threshold,
      value,
      windowSeconds: seconds,
      firedAt: now,
      message
    });
    this._firing.set(k, record);
    return this._tell(record);
  }

  private async _resolve(k: string, firing: AlertRecord, now: number, value: number | null, why: string): Promise<AlertView> {
    // Out of the firing set before the store is asked: nothing resolves it twice meanwhile.
    this._firing.delete(k);
    this._resolvedAt.set(k, now);
    const record = (await this._store.resolveAlert(firing.id, now, value, `${firing.message}; resolved: ${why}`)) ?? {
      ...firing,
      state: 'resolved' as const,
      resolvedAt: now,
      resolvedValue: value
    };
    return this._tell(record);
  }

  private async _tell(record: AlertRecord): Promise<AlertView> {
    const view = alertView(record);
    for (const listener of this._listeners) await listener(view);
    return view;
  }

  /**
   * Takes or renews the lead. A replica that becomes the leader reads what fires from the store
   * (the previous leader's alerts) and the rules afresh.
   */
  private async _lead(now: number): Promise<boolean> {
    const leading = await this._store.claimLead(this.options.replica, this.options.leadTtlMs, now);
    if (leading && !this._leading) {
      await this._loadFiring();
      this._resolvedAt.clear();
      this._rules.clear();
    }
    this._leading = leading;
    return leading;
  }

  /** Reads what fires as the leader keeps it, and tells of the alerts that fired or resolved since the last look. */
  private async _follow(): Promise<void> {
    const before = new Map([...this._firing.values()].map((a) => [a.id, a]));
    await this._loadFiring();
    if (this._elsewhere.length === 0) return;
    const changed: AlertView[] = [];
    for (const a of this._firing.values()) if (!before.delete(a.id)) changed.push(alertView(a));
    for (const gone of before.values()) {
      const resolved = (await this._store.alerts({ model: gone.model, limit: 100 })).find((a) => a.id === gone.id);
      if (resolved?.state === 'resolved') changed.push(alertView(resolved));
    }
    for (const view of changed) {
      for (const listener of this._elsewhere) await listener(view);
    }
  }

  private async _loadFiring(): Promise<void> {
    const firing = await this._store.alerts({ state: 'firing', limit: 10_000 });
    this._firing.clear();
    for (const a of firing) this._firing.set(key(a.model, a.rule), a);
  }

  private async _cooledDown(model: string, r: AlertRule, now: number): Promise<boolean> {
    const k = key(model, r.name);
    let last = this._resolvedAt.get(k);
    if (last === undefined) {
      last = (await this._store.lastResolved(model, r.name)) ?? -Infinity;
      // A resolve meanwhile (its rule removed) is newer than what the store said.
      last = Math.max(last, this._resolvedAt.get(k) ?? -Infinity);
      this._resolvedAt.set(k, last);
    }
    return now - last >= r.cooldown_seconds * 1000;
  }

  private async _rulesOf(model: string): Promise<{ rules: readonly AlertRule[]; custom: boolean }> {
    const cached = this._rules.get(model);
    if (cached) return cached;
    const own = await this._store.loadRules(model);
    const loaded = own ? { rules: own, custom: true } : { rules: DEFAULT_RULES, custom: false };
    // Rules saved while this read ran stay (setRules caches them).
    if (!this._rules.has(model)) this._rules.set(model, loaded);
    return this._rules.get(model)!;
  }

  /** The metrics of the version's latest validation report. */
  private async _validated(model: string, version: number | null): Promise<Record<string, unknown> | null> {
    if (version === null) return null;
    const report = (await this._registry.latestValidation(model, version))?.report;
    const metrics = report?.metrics;
    return metrics && typeof metrics === 'object' ? (metrics as Record<string, unknown>) : null;
  }

  private readonly _loaded: Promise<void>;
  private readonly _listeners: AlertListener[] = [];
  private readonly _elsewhere: AlertListener[] = [];
  private _leading = false;
  private _stopped = false;
  private readonly _firing = new Map<string, AlertRecord>();
  private readonly _resolvedAt = new Map<string, number>();
  private readonly _rules = new Map<string, { rules: readonly AlertRule[]; custom: boolean }>();
  /** When each model's slow rules were last evaluated (ms). */
  private readonly _lastSlow = new Map<string, number>();
  private _lastPrune = 0;
  /** Models waiting for the next evaluation; the one running; the next one, once asked for. */
  private readonly _queued = new Set<string>();
  private _running: Promise<AlertView[]> = Promise.resolve([]);
  private _next: Promise<AlertView[]> | null = null;
}

function key(model: string, rule: string): string {
  return `${model}\u0000${rule}`;
}

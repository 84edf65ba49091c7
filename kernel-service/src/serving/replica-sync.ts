/**
 * Replicas of one service (the processes of `--workers N`, `nbdeploy serve --join`) share one
 * registry; each holds its own routing tables and loaded models. A change made through any
 * replica moves the registry's change mark (every change is audited); each replica watches
 * the mark and, when it moves, adopts what the registry now says of every model — loading
 * and warming first, then swapping its routes in one step, as the replica that made the
 * change did. A nudge (the workers' primary relays one after each change) makes a replica
 * look at once; the periodic look is what heals a missed nudge.
 */
import type { Registry } from '../registry/registry.js';
import type { Deployer } from './deployer.js';

export interface ReplicaSyncOptions {
  /** How often the change mark is read (ms). */
  intervalMs: number;
  log: (message: string) => void;
  /** Called after the replica adopted changes made elsewhere (alert rules are read again, say). */
  onAdopted?: () => void;
}

export class ReplicaSync {
  constructor(
    private readonly _registry: Registry,
    private readonly _deployer: Deployer,
    private readonly _options: ReplicaSyncOptions
  ) {}

  /** Adopts the registry's state now, then watches for changes. */
  async start(): Promise<void> {
    await this._look();
    this._timer = setInterval(() => this.nudge(), this._options.intervalMs);
    this._timer.unref();
  }

  /** Looks at the change mark now (at most one look runs at a time; a nudge during one runs another after it). */
  nudge(): void {
    if (this._stopped) return;
    if (this._looking) {
      this._again = true;
      return;
    }
    this._looking = this._look()
      .catch((error: Error) => this._options.log(`could not adopt changes made by another replica: ${error.message}`))
      .finally(() => {
        this._looking = null;
        if (this._again) {
          this._again = false;
          this.nudge();
        }
      });
  }

  stop(): void {
    this._stopped = true;
    if (this._timer) clearInterval(this._timer);
  }

  private async _look(): Promise<void> {
    const mark = await this._registry.changeMark();
    if (mark === this._seen) return;
    let failed = false;
    for (const model of await this._registry.listModels()) {
      if (this._stopped) return;
      try {
        await this._deployer.adopt(model.name);
        this._failures.delete(model.name);
      } catch (error) {
        // Tried again at the next look; said once until the reason changes.
        failed = true;
        const message = (error as Error).message;
        if (this._failures.get(model.name) !== message) this._options.log(`model "${model.name}" changed on another replica and could not be served here: ${message}`);
        this._failures.set(model.name, message);
      }
    }
    if (!failed) this._seen = mark;
    this._options.onAdopted?.();
  }

  private _seen: number | null = null;
  private readonly _failures = new Map<string, string>();
  private _timer: NodeJS.Timeout | null = null;
  private _looking: Promise<void> | null = null;
  private _again = false;
  private _stopped = false;
}

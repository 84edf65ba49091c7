/**
 * Replicas on PostgreSQL hear of each other's changes at once: every change that moves the
 * registry's change mark notifies `nbdeploy_changes` in the transaction of its audit entry
 * (postgres-audit-log.ts), delivered when it commits; each replica keeps one connection
 * LISTENing and is told. A connection that drops is opened again (every few seconds until it
 * opens), and a change is assumed once it is back, since notifications sent meanwhile are lost;
 * the replica's periodic look (replica-sync.ts) remains the safety net.
 */
import pg from 'pg';
import { describeUrl } from './postgres-database.js';

/** The channel every change is notified on (the payload: the new change mark). */
export const CHANGES_CHANNEL = 'nbdeploy_changes';

/** How the listening connection shows in `pg_stat_activity`. */
export const LISTENER_APPLICATION_NAME = 'nbdeploy-changes';

export interface PostgresChangeListenerOptions {
  /** Wait before opening a dropped connection again (ms). */
  retryMs: number;
}

export class PostgresChangeListener {
  private constructor(
    private readonly _url: string,
    private readonly _onChange: () => void,
    private readonly _log: (message: string) => void,
    private readonly _options: PostgresChangeListenerOptions
  ) {}

  /** Listens from now on; the first connection must open (a URL that cannot be used fails here). */
  static async start(url: string, onChange: () => void, log: (message: string) => void, options: Partial<PostgresChangeListenerOptions> = {}): Promise<PostgresChangeListener> {
    const listener = new PostgresChangeListener(url, onChange, log, { retryMs: 2_000, ...options });
    await listener._connect();
    return listener;
  }

  /** Whether the listening connection is open now. */
  get listening(): boolean {
    return this._client !== null;
  }

  async close(): Promise<void> {
    this._closed = true;
    if (this._timer) clearTimeout(this._timer);
    const client = this._client;
    this._client = null;
    await client?.end().catch(() => undefined);
  }

  private async _connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this._url, connectionTimeoutMillis: 10_000, application_name: LISTENER_APPLICATION_NAME });
    client.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL) this._onChange();
    });
    client.on('error', (error: Error) => this._lost(client, error));
    client.on('end', () => this._lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw new Error(`cannot listen for changes on ${describeUrl(this._url)}: ${(error as Error).message}`);
    }
    if (this._closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this._client = client;
  }

  private _lost(client: pg.Client, error?: Error): void {
    if (this._closed || this._client !== client) return;
    this._client = null;
    client.end().catch(() => undefined);
    this._log(`lost the connection that listens for other replicas' changes (${error?.message ?? 'closed by the server'}); opening it again`);
    this._retry();
  }

  private _retry(): void {
    this._timer = setTimeout(() => {
      this._timer = null;
      this._connect().then(
        () => {
          if (this._closed) return;
          this._log("listening for other replicas' changes again");
          // What was notified while the connection was down is lost: look now.
          this._onChange();
        },
        () => {
          if (!this._closed) this._retry();
        }
      );
    }, this._options.retryMs);
    this._timer.unref();
  }

  private _client: pg.Client | null = null;
  private _timer: NodeJS.Timeout | null = null;
  private _closed = false;
}

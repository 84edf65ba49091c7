/** The notebook's current connection (one per kernel), opened on first use; its requests say which notebook and cell they come from. */
import { NotebookClient } from './client.js';
import { type ConnectOptions, resolveConnection } from './connection.js';
import { changeContext } from './context.js';
import { ModelsReply } from './replies.js';

let current: NotebookClient | null = null;

export interface Connected {
  url: string;
  server: { name: string; version: string };
  /** Who the service records changes as. */
  user: string | null;
}

/** Connects to the service (default: NBDEPLOY_URL / NBDEPLOY_TOKEN, then .nbdeploy/token upwards). */
export async function connect(options: ConnectOptions = {}): Promise<Connected> {
  current?.close();
  current = new NotebookClient(resolveConnection(options), changeContext);
  await current.request({ type: 'list' }, ModelsReply); // fail now, with a clear error, rather than at the first real call
  const welcome = current.welcome!;
  return { url: current.info.url, server: { name: welcome.server.name, version: welcome.server.version }, user: welcome.user ?? null };
}

export function client(): NotebookClient {
  current ??= new NotebookClient(resolveConnection(), changeContext);
  return current;
}

/** Closes the connection (the next call opens a new one); lets a script's process end. */
export function disconnect(): void {
  current?.close();
  current = null;
}

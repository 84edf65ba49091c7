/** The service URL setting: empty for the Jupyter proxy, else a WebSocket URL (http(s) read as ws(s)). */

/** The URL to connect to: the override when given, the proxy's otherwise. Throws on what is not a URL. */
export function serviceUrl(override: string, proxy: string): string {
  const text = override.trim();
  if (!text) {
    return proxy;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`The nbdeploy service URL "${text}" is not a URL: use ws://host:port/ws?token=… or leave it empty for the Jupyter proxy.`);
  }
  const protocols: Record<string, string> = { 'ws:': 'ws:', 'wss:': 'wss:', 'http:': 'ws:', 'https:': 'wss:' };
  if (!protocols[url.protocol]) {
    throw new Error(`The nbdeploy service URL "${text}" must start with ws://, wss://, http:// or https://.`);
  }
  url.protocol = protocols[url.protocol];
  return url.toString();
}

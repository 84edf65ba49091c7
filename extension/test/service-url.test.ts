/** The service URL setting: empty for the Jupyter proxy, else a WebSocket URL. */
import { describe, expect, it } from 'vitest';

import { serviceUrl } from '../src/service-url.js';

const PROXY = 'ws://localhost:8888/nbdeploy/ws?token=abc';

describe('serviceUrl', () => {
  it('should use the proxy when the setting is empty', () => {
    expect(serviceUrl('', PROXY)).toBe(PROXY);
    expect(serviceUrl('   ', PROXY)).toBe(PROXY);
  });

  it('should take WebSocket URLs as given and read http(s) as ws(s)', () => {
    expect(serviceUrl('ws://127.0.0.1:8765/ws?token=t', PROXY)).toBe('ws://127.0.0.1:8765/ws?token=t');
    expect(serviceUrl(' https://lab.example.org/nbdeploy/ws ', PROXY)).toBe('wss://lab.example.org/nbdeploy/ws');
    expect(serviceUrl('http://127.0.0.1:8765/ws', PROXY)).toBe('ws://127.0.0.1:8765/ws');
  });

  it('should refuse what is not a service URL, saying why', () => {
    expect(() => serviceUrl('localhost:8765', PROXY)).toThrow(/must start with ws:\/\/, wss:\/\/, http:\/\/ or https:\/\//);
    expect(() => serviceUrl('not a url', PROXY)).toThrow('The nbdeploy service URL "not a url" is not a URL');
  });
});

import { describe, expect, it } from 'vitest';
import { desktopServerUrl, resolveApiEndpoints } from './endpoints.ts';

describe('resolveApiEndpoints', () => {
  it('talks to the page origin in a browser', () => {
    expect(resolveApiEndpoints({ protocol: 'http:', host: '127.0.0.1:8477' })).toEqual({
      origin: 'http://127.0.0.1:8477',
      httpUrl: 'http://127.0.0.1:8477/trpc',
      wsUrl: 'ws://127.0.0.1:8477/trpc',
      desktop: false,
    });
  });

  it('uses a secure WebSocket when the page is served over https', () => {
    expect(resolveApiEndpoints({ protocol: 'https:', host: 'app.megilance.test' }).wsUrl).toBe(
      'wss://app.megilance.test/trpc',
    );
  });

  it('prefers the server the desktop app names, ignoring any path on it', () => {
    const endpoints = resolveApiEndpoints({ protocol: 'file:', host: '' }, 'https://api.megilance.test:9443/some/path');
    expect(endpoints).toEqual({
      origin: 'https://api.megilance.test:9443',
      httpUrl: 'https://api.megilance.test:9443/trpc',
      wsUrl: 'wss://api.megilance.test:9443/trpc',
      desktop: true,
    });
  });

  it('refuses a server URL that is not http(s)', () => {
    expect(() => resolveApiEndpoints({ protocol: 'http:', host: 'x' }, 'javascript:alert(1)')).toThrow(/http\(s\)/);
  });
});

describe('desktopServerUrl', () => {
  it('is absent in a plain browser', () => {
    expect(desktopServerUrl({})).toBeUndefined();
  });

  it('reads the preload bridge when it names a server', () => {
    expect(desktopServerUrl({ megilance: { serverUrl: 'http://localhost:8420' } })).toBe('http://localhost:8420');
  });

  it('ignores a bridge without a usable server URL', () => {
    expect(desktopServerUrl({ megilance: {} })).toBeUndefined();
    expect(desktopServerUrl({ megilance: { serverUrl: 42 } })).toBeUndefined();
    expect(desktopServerUrl({ megilance: { serverUrl: '' } })).toBeUndefined();
  });
});

import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { decodeDesktopBootstrap } from '../shared/desktop-api.ts';
import {
  allowNavigation,
  allowPermission,
  applySecurity,
  checkExternalUrl,
  checkServerUrl,
  decideWindowOpen,
  ExternalLinkRefusedError,
  mainWindowOptions,
  openExternalSafely,
  pageOriginOf,
  secureSession,
  withContentSecurityPolicy,
  type PermissionCheckDetails,
  type PermissionRequestDetails,
  type ResponseDetails,
  type SecurableSession,
  type SecurableWebContents,
} from './security.ts';
import {
  contentSecurityPolicy,
  contentSecurityPolicyHeader,
  desktopAppContentSecurityPolicy,
} from '../shared/content-security-policy.ts';

const APP = 'http://127.0.0.1:41234';
const bootstrap = { serverUrl: APP, appVersion: '0.1.0', platform: 'linux' } as const;

describe('main window options', () => {
  const options = mainWindowOptions({ preloadPath: '/app/dist/electron/preload.cjs', bootstrap });

  it('isolates and sandboxes the renderer, with no Node and no <webview>', () => {
    expect(options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      preload: '/app/dist/electron/preload.cjs',
    });
    expect(options.webPreferences).not.toHaveProperty('enableBlinkFeatures');
    expect(options.show).toBe(false);
  });

  it('hands the preload a bootstrap it can decode', () => {
    const args = options.webPreferences?.additionalArguments ?? [];
    expect(decodeDesktopBootstrap(['/usr/bin/electron', '--type=renderer', ...args])).toEqual(bootstrap);
  });

  it('preload refuses a missing or tampered bootstrap', () => {
    expect(() => decodeDesktopBootstrap(['--type=renderer'])).toThrow(/no --megilance-bootstrap=/);
    expect(() => decodeDesktopBootstrap(['--megilance-bootstrap=%7B'])).toThrow(/not URI-encoded JSON/);
    const foreign = encodeURIComponent(JSON.stringify({ ...bootstrap, serverUrl: 'file:///etc/passwd' }));
    expect(() => decodeDesktopBootstrap([`--megilance-bootstrap=${foreign}`])).toThrow(/invalid bootstrap.*serverUrl/s);
    const extra = encodeURIComponent(JSON.stringify({ ...bootstrap, nodeIntegration: true }));
    expect(() => decodeDesktopBootstrap([`--megilance-bootstrap=${extra}`])).toThrow(/invalid bootstrap/);
  });
});

describe('navigation lock', () => {
  it.each([
    [`${APP}/`, true],
    [`${APP}/jobs/42?tab=proposals#top`, true],
    ['http://127.0.0.1:41235/', false], // another port is another origin
    ['https://127.0.0.1:41234/', false], // another scheme too
    ['http://localhost:41234/', false],
    ['https://evil.example/', false],
    ['file:///etc/passwd', false],
    ['javascript:alert(1)', false],
    ['data:text/html,<script>1</script>', false],
    ['about:blank', false],
    ['not a url', false],
  ])('%s → %s', (url, allowed) => {
    expect(allowNavigation(url, APP)).toBe(allowed);
  });
});

describe('window.open', () => {
  it('never opens an Electron window; https links go to the browser', () => {
    expect(decideWindowOpen('https://docs.megilance.app/help')).toEqual({
      action: 'deny',
      openExternally: 'https://docs.megilance.app/help',
    });
  });

  it.each([
    `${APP}/jobs`,
    'http://example.com/',
    'file:///C:/Windows/System32/calc.exe',
    'smb://host/share',
    'https://u:p@x.example/',
  ])('denies %s without opening anything', (url) => {
    expect(decideWindowOpen(url)).toEqual({ action: 'deny' });
  });
});

describe('external links', () => {
  it('accepts https links and normalises them', () => {
    expect(checkExternalUrl('https://Example.COM/a b?q=1')).toEqual({ ok: true, url: 'https://example.com/a%20b?q=1' });
  });

  it.each([
    ['http://example.com/', /only https/],
    ['file:///etc/passwd', /only https/],
    ['javascript:alert(1)', /only https/],
    ['ms-settings:privacy', /only https/],
    ['https://user:secret@example.com/', /user name or password/],
    ['https://user@example.com/', /user name or password/],
    ['//example.com/', /not a valid URL/],
    [`https://example.com/${'a'.repeat(2100)}`, /longer than 2048/],
  ])('refuses %s', (url, reason) => {
    const checked = checkExternalUrl(url);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toMatch(reason);
  });

  it('opens only what passes the check', async () => {
    const open = vi.fn(() => Promise.resolve());
    await openExternalSafely('https://example.com/x', open);
    expect(open).toHaveBeenCalledExactlyOnceWith('https://example.com/x');
    await expect(openExternalSafely('file:///etc/passwd', open)).rejects.toThrow(ExternalLinkRefusedError);
    expect(open).toHaveBeenCalledTimes(1);
  });
});

describe('configured server URL', () => {
  it.each([
    ['https://megilance.example.com', 'https://megilance.example.com'],
    ['https://megilance.example.com/', 'https://megilance.example.com'],
    ['http://localhost:8420', 'http://localhost:8420'],
    ['http://127.0.0.1:8420/', 'http://127.0.0.1:8420'],
    ['http://[::1]:8420', 'http://[::1]:8420'],
  ])('accepts %s as %s', (raw, origin) => {
    expect(checkServerUrl(raw)).toEqual({ ok: true, url: origin });
  });

  it.each([
    ['http://megilance.example.com', /only allowed for localhost/],
    ['ftp://megilance.example.com', /https:\/\//],
    ['https://admin:pw@megilance.example.com', /user name or password/],
    ['https://megilance.example.com/app', /origin only/],
    ['megilance.example.com', /not a URL/],
  ])('refuses %s', (raw, reason) => {
    const checked = checkServerUrl(raw);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toMatch(reason);
  });
});

describe('permissions', () => {
  it.each(['media', 'display-capture', 'notifications'])('grants %s to the app', (permission) => {
    expect(allowPermission(permission, [`${APP}/calls/7`], APP)).toBe(true);
  });

  it.each(['geolocation', 'clipboard-read', 'midiSysex', 'openExternal', 'hid', 'usb', 'serial', 'unknown'])(
    'refuses %s even to the app',
    (permission) => {
      expect(allowPermission(permission, [APP], APP)).toBe(false);
    },
  );

  it('refuses granted kinds to any other origin, or when no origin is named', () => {
    expect(allowPermission('media', ['https://evil.example/'], APP)).toBe(false);
    expect(allowPermission('media', ['http://127.0.0.1:9999/'], APP)).toBe(false);
    expect(allowPermission('media', [APP, 'https://evil.example'], APP)).toBe(false); // a foreign frame inside the app
    expect(allowPermission('notifications', [undefined, ''], APP)).toBe(false);
  });
});

describe('content security policy', () => {
  it('serialises like helmet does', () => {
    const header = contentSecurityPolicyHeader();
    expect(header.split(';')).toContain("script-src 'self'");
    expect(header.split(';')).toContain("connect-src 'self' ws: wss:");
    expect(header.split(';')).toContain("frame-ancestors 'none'");
    expect(header).not.toMatch(/unsafe-eval/);
  });

  const doc = (url: string, headers?: Record<string, string[]>): ResponseDetails => ({
    url,
    resourceType: 'mainFrame',
    ...(headers === undefined ? {} : { responseHeaders: headers }),
  });

  it("adds the policy to the app's documents, keeping the server's own", () => {
    expect(withContentSecurityPolicy(doc(`${APP}/`, { 'content-type': ['text/html'] }), APP)).toEqual({
      'content-type': ['text/html'],
      'Content-Security-Policy': [contentSecurityPolicyHeader()],
    });
    const fromServer = "default-src 'self'";
    expect(withContentSecurityPolicy(doc(`${APP}/`, { 'content-security-policy': [fromServer] }), APP)).toEqual({
      'content-security-policy': [fromServer, contentSecurityPolicyHeader()],
    });
  });

  it('leaves other responses alone', () => {
    expect(withContentSecurityPolicy(doc('https://cdn.example/x.html'), APP)).toBeUndefined();
    expect(withContentSecurityPolicy({ url: `${APP}/app.js`, resourceType: 'script' }, APP)).toBeUndefined();
  });
});

class FakeWebContents extends EventEmitter implements SecurableWebContents {
  openHandler: ((details: { url: string }) => { action: 'deny' }) | undefined;

  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void {
    this.openHandler = handler;
  }

  navigate(event: 'will-navigate' | 'will-redirect', url: string): boolean {
    let prevented = false;
    this.emit(event, { url, preventDefault: () => (prevented = true) });
    return prevented;
  }
}

function fakeSession() {
  const handlers: {
    request?: (c: unknown, p: string, cb: (granted: boolean) => void, d: PermissionRequestDetails) => void;
    check?: (c: unknown, p: string, origin: string, d: PermissionCheckDetails) => boolean;
    device?: (details: unknown) => boolean;
    headers?: (d: ResponseDetails, cb: (response: { responseHeaders?: Record<string, string[]> }) => void) => void;
  } = {};
  const session: SecurableSession = {
    setPermissionRequestHandler: (h) => void (handlers.request = h),
    setPermissionCheckHandler: (h) => void (handlers.check = h),
    setDevicePermissionHandler: (h) => void (handlers.device = h),
    webRequest: { onHeadersReceived: (h) => void (handlers.headers = h) },
  };
  return { session, handlers };
}

describe('applySecurity wiring', () => {
  function setUp() {
    const contents = new FakeWebContents();
    const { session, handlers } = fakeSession();
    const openExternal = vi.fn(() => Promise.resolve());
    const warn = vi.fn();
    applySecurity(session, contents, { appOrigin: APP, openExternal, warn });
    return { contents, handlers, openExternal, warn };
  }

  it('blocks navigation and redirects away from the app, lets in-app ones through', () => {
    const { contents, warn } = setUp();
    expect(contents.navigate('will-navigate', 'https://evil.example/phish')).toBe(true);
    expect(contents.navigate('will-redirect', 'https://evil.example/phish')).toBe(true);
    expect(contents.navigate('will-navigate', `${APP}/settings`)).toBe(false);
    expect(contents.navigate('will-redirect', `${APP}/login`)).toBe(false);
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it('refuses <webview>', () => {
    const { contents } = setUp();
    const preventDefault = vi.fn();
    contents.emit('will-attach-webview', { preventDefault });
    expect(preventDefault).toHaveBeenCalled();
  });

  it('denies every window.open, sending only https links to the browser', () => {
    const { contents, openExternal } = setUp();
    expect(contents.openHandler?.({ url: 'https://example.com/terms' })).toEqual({ action: 'deny' });
    expect(contents.openHandler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(contents.openHandler?.({ url: `${APP}/popup` })).toEqual({ action: 'deny' });
    expect(openExternal).toHaveBeenCalledExactlyOnceWith('https://example.com/terms');
  });

  it('answers permission requests and checks by origin', () => {
    const { handlers } = setUp();
    const answers: boolean[] = [];
    handlers.request?.(null, 'media', (granted) => answers.push(granted), { requestingUrl: `${APP}/calls/1` });
    handlers.request?.(null, 'media', (granted) => answers.push(granted), { requestingUrl: 'https://evil.example/' });
    handlers.request?.(null, 'geolocation', (granted) => answers.push(granted), { requestingUrl: `${APP}/` });
    expect(answers).toEqual([true, false, false]);
    expect(handlers.check?.(null, 'notifications', APP, {})).toBe(true);
    expect(handlers.check?.(null, 'notifications', 'https://evil.example', {})).toBe(false);
    expect(handlers.check?.(null, 'media', APP, { securityOrigin: 'https://evil.example' })).toBe(false);
    expect(handlers.device?.({ deviceType: 'usb' })).toBe(false);
  });

  it('adds the CSP header to app documents only', () => {
    const { handlers } = setUp();
    const responses: { responseHeaders?: Record<string, string[]> }[] = [];
    handlers.headers?.({ url: `${APP}/`, resourceType: 'mainFrame', responseHeaders: {} }, (r) => responses.push(r));
    handlers.headers?.({ url: 'https://cdn.example/', resourceType: 'mainFrame', responseHeaders: {} }, (r) =>
      responses.push(r),
    );
    expect(responses[0]?.responseHeaders?.['Content-Security-Policy']).toEqual([contentSecurityPolicyHeader()]);
    expect(responses[1]).toEqual({});
  });
});

describe('the packaged app on app://megilance', () => {
  const APP_SCHEME = 'app://megilance';

  it('has an origin like a standard scheme: host only, lower-cased, no user or port', () => {
    expect(pageOriginOf('app://megilance/calls/x?y#z')).toBe(APP_SCHEME);
    expect(pageOriginOf('app://MegiLance/')).toBe(APP_SCHEME);
    expect(pageOriginOf('app://user@megilance/')).toBeUndefined();
    expect(pageOriginOf('app://megilance:99/')).toBeUndefined();
    expect(pageOriginOf('app:///x')).toBeUndefined();
    expect(pageOriginOf('file:///x')).toBeUndefined();
    expect(pageOriginOf('https://megilance.example.com/x')).toBe('https://megilance.example.com');
  });

  it('navigation, permissions and IPC senders: app:// only, the server’s own pages are foreign then', () => {
    expect(allowNavigation('app://megilance/jobs', APP_SCHEME)).toBe(true);
    expect(allowNavigation('app://megilance.evil/', APP_SCHEME)).toBe(false);
    expect(allowNavigation('app://evil/', APP_SCHEME)).toBe(false);
    expect(allowNavigation(`${APP}/`, APP_SCHEME)).toBe(false);
    for (const permission of ['media', 'display-capture', 'notifications']) {
      expect(allowPermission(permission, ['app://megilance/calls/x'], APP_SCHEME)).toBe(true);
      expect(allowPermission(permission, [APP], APP_SCHEME)).toBe(false);
      expect(allowPermission(permission, ['app://megilance/', 'https://evil.example'], APP_SCHEME)).toBe(false);
    }
    expect(allowPermission('geolocation', ['app://megilance/'], APP_SCHEME)).toBe(false);
  });

  it('its CSP names the server where the page reaches it, and nowhere else; the server’s policy is unchanged', () => {
    const policy = desktopAppContentSecurityPolicy(APP);
    expect(policy['connectSrc']).toEqual(["'self'", 'ws:', 'wss:', APP]);
    expect(policy['imgSrc']).toEqual(["'self'", 'data:', 'blob:', APP]);
    expect(policy['mediaSrc']).toEqual(["'self'", 'blob:', APP]);
    expect(policy['scriptSrc']).toEqual(["'self'"]);
    expect(policy['defaultSrc']).toEqual(["'self'"]);
    expect(contentSecurityPolicy.connectSrc).toEqual(["'self'", 'ws:', 'wss:']);
    expect(() => desktopAppContentSecurityPolicy("http://x; script-src 'unsafe-inline'")).toThrow(
      /Not a server origin/,
    );
    expect(() => desktopAppContentSecurityPolicy('http://x y')).toThrow(/Not a server origin/);
  });

  it('the session adds that policy (not the server’s) to the app’s documents', () => {
    let onHeaders:
      ((d: ResponseDetails, cb: (r: { responseHeaders?: Record<string, string[]> }) => void) => void) | undefined;
    const session: SecurableSession = {
      setPermissionRequestHandler: () => undefined,
      setPermissionCheckHandler: () => undefined,
      setDevicePermissionHandler: () => undefined,
      webRequest: { onHeadersReceived: (listener) => void (onHeaders = listener) },
    };
    const header = contentSecurityPolicyHeader(desktopAppContentSecurityPolicy(APP));
    secureSession(session, APP_SCHEME, header);
    let answered: Record<string, string[]> | undefined;
    onHeaders?.(
      { url: 'app://megilance/', resourceType: 'mainFrame', responseHeaders: { 'content-security-policy': [header] } },
      (r) => (answered = r.responseHeaders),
    );
    // The protocol handler sent the same policy already: not doubled.
    expect(answered).toEqual({ 'content-security-policy': [header] });
    onHeaders?.({ url: `${APP}/`, resourceType: 'mainFrame' }, (r) => (answered = r.responseHeaders));
    expect(answered).toBeUndefined();
  });
});

/**
 * megilance:// links: what is accepted (a table), and how they arrive on each
 * OS (argv of the first launch and of a second instance on Windows and
 * Linux, open-url on macOS), with a fake `app`.
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deepLinkArgument, parseDeepLink, registerDeepLinks, type DeepLink, type DeepLinkApp } from './deep-links.ts';

const ID = '6f1f4c8e-2b7a-4a58-9a55-0c1f6d3e9b21';

describe('parseDeepLink', () => {
  it.each([
    [`megilance://call/${ID}`, { kind: 'call', meetingId: ID, route: `/calls/${ID}` }],
    [`megilance://call/${ID}/`, { kind: 'call', meetingId: ID, route: `/calls/${ID}` }],
    [`MEGILANCE://CALL/${ID.toUpperCase()}`, { kind: 'call', meetingId: ID, route: `/calls/${ID}` }],
    [`megilance://contract/${ID}`, { kind: 'contract', contractId: ID, route: `/contracts/${ID}` }],
  ])('accepts %s', (link, expected) => {
    expect(parseDeepLink(link)).toEqual({ ok: true, link: expected });
  });

  it.each([
    ['another scheme', `https://megilance.app/call/${ID}`, /not a megilance: link/],
    ['an unknown kind', `megilance://settings/${ID}`, /unknown link kind/],
    ['no id', 'megilance://call/', /megilance:\/\/<call\|contract>\/<id>/],
    ['no kind', `megilance:///${ID}`, /unknown link kind|megilance:\/\//],
    ['an id that is not a UUID', 'megilance://call/123', /not a UUID/],
    ['a path after the id', `megilance://call/${ID}/extra`, /megilance:\/\/<call\|contract>/],
    ['a traversal', `megilance://call/../../settings`, /not a UUID|megilance:\/\//],
    ['an encoded traversal', `megilance://call/..%2F..%2Fsettings`, /not a UUID/],
    ['a query', `megilance://call/${ID}?next=https://evil.example`, /query or fragment/],
    ['a fragment', `megilance://call/${ID}#x`, /query or fragment/],
    ['credentials', `megilance://user:pw@call/${ID}`, /user, password or port/],
    ['a port', `megilance://call:8080/${ID}`, /user, password or port/],
    ['no authority', `megilance:call/${ID}`, /megilance:\/\/<call\|contract>|unknown link kind/],
    ['a javascript: URL', 'javascript:alert(1)', /not a megilance: link/],
    ['garbage', 'not a url', /not a URL/],
    ['an overlong link', `megilance://call/${ID}${'/'.repeat(600)}`, /longer than 512/],
  ])('refuses %s', (_what, link, reason) => {
    const parsed = parseDeepLink(link);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});

describe('deepLinkArgument', () => {
  it('finds the link among the arguments Windows and Linux pass', () => {
    expect(deepLinkArgument(['C:\\MegiLance\\MegiLance.exe', '--allow-file-access', `megilance://call/${ID}`])).toBe(
      `megilance://call/${ID}`,
    );
    expect(deepLinkArgument(['/opt/MegiLance/megilance', '--no-sandbox'])).toBeUndefined();
  });
});

class FakeApp extends EventEmitter implements DeepLinkApp {
  readonly registered: unknown[][] = [];
  answer = true;
  setAsDefaultProtocolClient(...args: [string, string?, string[]?]): boolean {
    this.registered.push(args.filter((value) => value !== undefined));
    return this.answer;
  }
}

function setUp(argv: string[], defaultApp = false) {
  const app = new FakeApp();
  const opened: DeepLink[] = [];
  const log: string[] = [];
  const links = registerDeepLinks({
    app,
    defaultApp,
    execPath: '/usr/lib/electron/electron',
    argv,
    open: (link) => opened.push(link),
    log: (line) => log.push(line),
  });
  return { app, opened, log, links };
}

describe('registerDeepLinks', () => {
  it('claims megilance:// (the packaged app as itself, a development run with its folder)', () => {
    expect(setUp(['/opt/MegiLance/megilance']).app.registered).toEqual([['megilance']]);
    expect(setUp(['/usr/lib/electron/electron', 'dist/electron/main.js'], true).app.registered).toEqual([
      ['megilance', '/usr/lib/electron/electron', [resolve('dist/electron/main.js')]],
    ]);
    const refused = new FakeApp();
    refused.answer = false;
    const log: string[] = [];
    registerDeepLinks({
      app: refused,
      defaultApp: false,
      execPath: 'x',
      argv: [],
      open: () => {},
      log: (l) => log.push(l),
    });
    expect(log[0]).toMatch(/could not register/);
  });

  it('the first launch: its link is the initial route (not opened twice)', () => {
    const { links, opened } = setUp(['/opt/MegiLance/megilance', `megilance://contract/${ID}`]);
    expect(links.initial).toEqual({ kind: 'contract', contractId: ID, route: `/contracts/${ID}` });
    expect(opened).toEqual([]);
  });

  it('a second instance (Windows, Linux): the link in its arguments is opened', () => {
    const { links, opened } = setUp(['/opt/MegiLance/megilance']);
    expect(links.initial).toBeUndefined();
    expect(links.handleArgv(['/opt/MegiLance/megilance', `megilance://call/${ID}`])?.route).toBe(`/calls/${ID}`);
    expect(links.handleArgv(['/opt/MegiLance/megilance'])).toBeUndefined();
    expect(opened.map((link) => link.route)).toEqual([`/calls/${ID}`]);
  });

  it('macOS: open-url is taken over (preventDefault) and opened', () => {
    const { app, opened } = setUp([]);
    let prevented = false;
    app.emit('open-url', { preventDefault: () => (prevented = true) }, `megilance://call/${ID}`);
    expect(prevented).toBe(true);
    expect(opened).toEqual([{ kind: 'call', meetingId: ID, route: `/calls/${ID}` }]);
  });

  it('ignores and logs a bad link, without echoing all of it', () => {
    const { app, opened, log } = setUp([]);
    const hostile = `megilance://call/${'A'.repeat(100)}<script>`;
    app.emit('open-url', { preventDefault: () => {} }, hostile);
    expect(opened).toEqual([]);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/ignored .*not a UUID/);
    expect(log[0]).not.toContain('<script>');
  });
});

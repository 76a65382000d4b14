import { describe, expect, it } from 'vitest';
import { deviceLabel, identifyDevice } from './device.ts';

const UA = {
  chromeLinux: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  chrome155Linux:
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/155.0.0.0 Safari/537.36',
  firefoxWindows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  safariMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80',
  // What Electron sends for this app: its name and version, then Chrome's and Electron's.
  megilanceMac:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) MegiLance/0.1.0 Chrome/140.0.7339.133 Electron/45.4.1 Safari/537.36',
  megilanceMacUpdated:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) MegiLance/0.2.0 Chrome/142.0.7444.59 Electron/46.0.0 Safari/537.36',
  otherElectronApp:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.41.105 Chrome/130.0.6723.191 Electron/33.4.1 Safari/537.36',
};

const browser = {
  userAgent: UA.chromeLinux,
  acceptLanguage: 'en-US,en;q=0.9',
  timezone: 'Europe/Berlin',
  screen: '1366x768',
};

describe('device labels', () => {
  it('names real browsers the way a person would', () => {
    expect(deviceLabel(UA.chromeLinux)).toBe('Chrome 156 on Linux');
    expect(deviceLabel(UA.firefoxWindows)).toBe('Firefox 128 on Windows');
    expect(deviceLabel(UA.safariMac)).toBe('Safari 17 on macOS');
    expect(deviceLabel(UA.safariIphone)).toBe('Safari 17 on iOS (iPhone)');
    expect(deviceLabel(UA.edgeWindows)).toBe('Edge 124 on Windows');
  });

  it('names the MegiLance desktop app, and other Electron apps as Electron', () => {
    expect(deviceLabel(UA.megilanceMac)).toBe('MegiLance Desktop 0.1.0 on macOS');
    expect(deviceLabel(UA.otherElectronApp)).toBe('Electron 33 on Windows');
    const app = identifyDevice({ userAgent: UA.megilanceMac, installId: 'a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b' });
    expect(app).toMatchObject({
      label: 'MegiLance Desktop 0.1.0 on macOS',
      kind: 'desktop_app',
      platform: 'macOS',
      appVersion: '0.1.0',
    });
  });

  it('says so when it cannot tell', () => {
    expect(deviceLabel('')).toBe('Unknown device');
    expect(deviceLabel('curl/8.5.0')).toBe('Unknown device');
    expect(identifyDevice({ userAgent: '' })).toMatchObject({ kind: 'unknown', platform: 'Unknown' });
  });
});

describe('device fingerprints', () => {
  it('keep a desktop install the same device across app updates, by its install id alone', () => {
    const installId = 'a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b';
    const before = identifyDevice({ userAgent: UA.megilanceMac, installId, timezone: 'Europe/Berlin' });
    const after = identifyDevice({ userAgent: UA.megilanceMacUpdated, installId, timezone: 'Asia/Tokyo' });
    expect(after.fingerprint).toBe(before.fingerprint);
    expect(after.label).toBe('MegiLance Desktop 0.2.0 on macOS');
    expect(before.fingerprint).toMatch(/^install:[\w-]{43}$/);
    // The raw id is never part of what gets stored.
    expect(before.fingerprint).not.toContain(installId);

    const otherInstall = identifyDevice({
      userAgent: UA.megilanceMac,
      installId: 'f0e1d2c3-b4a5-4968-8776-655443322110',
    });
    expect(otherInstall.fingerprint).not.toBe(before.fingerprint);
  });

  it('keep a browser the same device across automatic major-version updates and docking', () => {
    const today = identifyDevice(browser);
    expect(today.fingerprint).toMatch(/^browser:[\w-]{43}$/);
    expect(identifyDevice({ ...browser, userAgent: UA.chrome155Linux }).fingerprint).toBe(today.fingerprint);
    expect(identifyDevice({ ...browser, screen: '2560x1440@2' }).fingerprint).toBe(today.fingerprint);
    expect(identifyDevice({ ...browser, acceptLanguage: 'en-GB,en;q=0.8' }).fingerprint).toBe(today.fingerprint);
    // A language the client reports wins over the header.
    expect(identifyDevice({ ...browser, acceptLanguage: 'de-DE', language: 'en-US' }).fingerprint).toBe(
      today.fingerprint,
    );
  });

  it('tell different browsers, systems, languages, zones and screen classes apart', () => {
    const today = identifyDevice(browser).fingerprint;
    expect(identifyDevice({ ...browser, userAgent: UA.firefoxWindows }).fingerprint).not.toBe(today);
    expect(identifyDevice({ ...browser, acceptLanguage: 'de-DE,de;q=0.9' }).fingerprint).not.toBe(today);
    expect(identifyDevice({ ...browser, timezone: 'America/New_York' }).fingerprint).not.toBe(today);
    expect(identifyDevice({ ...browser, screen: '390x844' }).fingerprint).not.toBe(today);
  });

  it('ignore an install id that is only whitespace', () => {
    expect(identifyDevice({ ...browser, installId: '   ' }).fingerprint).toBe(identifyDevice(browser).fingerprint);
  });
});

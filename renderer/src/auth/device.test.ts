import { describe, expect, it } from 'vitest';
import { clientDeviceSchema } from '../../../shared/accounts.ts';
import { describeDevice } from './device.ts';

describe('describeDevice', () => {
  it('reports time zone, language and screen size as the sign-in schema accepts them', () => {
    const device = describeDevice({
      timeZone: 'Asia/Karachi',
      language: 'en-GB',
      screen: { width: 1920, height: 1080 },
    });
    expect(device).toEqual({ timezone: 'Asia/Karachi', language: 'en-GB', screen: '1920x1080' });
    expect(clientDeviceSchema.parse(device)).toEqual(device);
  });

  it('leaves out what the browser does not know, or what would not fit, rather than failing the sign-in', () => {
    const device = describeDevice({ timeZone: undefined, language: 'x'.repeat(36), screen: { width: 0, height: 0 } });
    expect(device).toEqual({});
    expect(clientDeviceSchema.safeParse(device).success).toBe(true);
  });
});

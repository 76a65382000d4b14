import { describe, expect, it, vi } from 'vitest';
import type { ScreenPickerRequest } from '../shared/desktop-api.ts';
import { displayMediaHandler, pickerSources, ScreenPicker, type CapturerSourceLike } from './screen-picker.ts';

const APP = 'http://127.0.0.1:41234';
const source = (id: string, name: string, picture = true): CapturerSourceLike => ({
  id,
  name,
  thumbnail: { toDataURL: () => `data:image/png;base64,${id}`, isEmpty: () => !picture },
});
const sources = [source('window:42:0', 'Design doc — Editor'), source('screen:0:0', 'Entire screen', false)];

function setUp() {
  const asked: ScreenPickerRequest[] = [];
  const picker = new ScreenPicker((request) => {
    asked.push(request);
    return true;
  });
  const log: string[] = [];
  const handler = displayMediaHandler({
    appOrigin: APP,
    getSources: () => Promise.resolve(sources),
    picker,
    log: (line) => log.push(line),
  });
  const share = (url: string) =>
    new Promise<{ video?: CapturerSourceLike }>((resolve) => handler({ frame: { url } }, resolve));
  return { picker, asked, log, share };
}

describe('the screen picker', () => {
  it('asks the page which screen or window to share and gives Chromium the chosen one', async () => {
    const { picker, asked, share } = setUp();
    const shared = share(`${APP}/calls/1`);
    await vi.waitFor(() => expect(asked).toHaveLength(1));
    // Screens first; a source without a picture is offered without one.
    expect(asked[0]!.sources.map((s) => [s.kind, s.name, s.thumbnail])).toEqual([
      ['screen', 'Entire screen', null],
      ['window', 'Design doc — Editor', 'data:image/png;base64,window:42:0'],
    ]);
    expect(picker.choose({ requestId: asked[0]!.requestId, sourceId: 'window:42:0' })).toEqual({ accepted: true });
    expect((await shared).video?.id).toBe('window:42:0');
  });

  it('treats cancelling as no capture, and refuses answers for other requests or sources not offered', async () => {
    const { picker, asked, share } = setUp();
    const shared = share(`${APP}/calls/1`);
    await vi.waitFor(() => expect(asked).toHaveLength(1));
    const { requestId } = asked[0]!;
    expect(picker.choose({ requestId: crypto.randomUUID(), sourceId: 'screen:0:0' })).toEqual({ accepted: false });
    expect(picker.choose({ requestId, sourceId: 'screen:9:9' })).toEqual({ accepted: false });
    expect(picker.choose({ requestId, sourceId: null })).toEqual({ accepted: true });
    expect(await shared).toEqual({});
    // Answered once: a second answer is refused.
    expect(picker.choose({ requestId, sourceId: 'screen:0:0' })).toEqual({ accepted: false });
  });

  it('lets only the app’s own pages capture the screen', async () => {
    const { asked, log, share } = setUp();
    expect(await share('https://evil.example/')).toEqual({});
    expect(asked).toHaveLength(0);
    expect(log[0]).toMatch(/refused/);
  });

  it('gives up when no page can ask or no one answers', async () => {
    const nowhere = new ScreenPicker(() => false);
    expect(await nowhere.ask(pickerSources(sources))).toBeNull();
    vi.useFakeTimers();
    try {
      const silent = new ScreenPicker(() => true, 1_000);
      const answer = silent.ask(pickerSources(sources));
      vi.advanceTimersByTime(1_001);
      expect(await answer).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });
});

/**
 * The window's remembered place: fitted to the displays there are now, and
 * written (debounced, atomically) as the window moves, with a fake window.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_WINDOW_SIZE,
  fitToDisplays,
  loadWindowState,
  trackWindowState,
  type Rectangle,
  type TrackedWindow,
  type WindowState,
} from './window-state.ts';

const laptop = { workArea: { x: 0, y: 25, width: 1440, height: 875 } };
// A monitor to the right of the laptop, taller, starting higher.
const monitor = { workArea: { x: 1440, y: -200, width: 2560, height: 1415 } };
const left = { workArea: { x: -1920, y: 0, width: 1920, height: 1040 } };

const state = (change: Partial<WindowState>): WindowState => ({
  version: 1,
  x: 100,
  y: 50,
  width: 1280,
  height: 820,
  maximized: false,
  ...change,
});

describe('fitToDisplays', () => {
  it.each<[string, Partial<WindowState>, DisplayList, ReturnType<typeof fitToDisplays>]>([
    ['kept where it was on the laptop', {}, [laptop], { x: 100, y: 50, width: 1280, height: 820 }],
    [
      'kept on the second monitor',
      { x: 2000, y: 0, width: 1600, height: 1000 },
      [laptop, monitor],
      { x: 2000, y: 0, width: 1600, height: 1000 },
    ],
    [
      'kept on a monitor left of the primary (negative x)',
      { x: -1800, y: 50 },
      [laptop, left],
      { x: -1800, y: 50, width: 1280, height: 820 },
    ],
    [
      'centred on the primary when its monitor is unplugged',
      { x: 2000, y: 0, width: 1600, height: 1000 },
      [laptop],
      { width: 1440, height: 875 },
    ],
    [
      'centred when it is far off every display',
      { x: 50_000, y: 50_000 },
      [laptop, monitor],
      { width: 1280, height: 820 },
    ],
    [
      'centred when only a sliver (under 200×100) would show',
      { x: 1300, y: 100 },
      [laptop],
      { width: 1280, height: 820 },
    ],
    [
      'shrunk and moved in when larger than its display now (resolution lowered)',
      { x: 0, y: 25, width: 2560, height: 1400 },
      [laptop],
      { x: 0, y: 25, width: 1440, height: 875 },
    ],
    [
      'moved in from the right edge when partly off it',
      { x: 1000, y: 100 },
      [laptop],
      // 820 high from y 100 would end below the work area (25 + 875): moved up too.
      { x: 160, y: 80, width: 1280, height: 820 },
    ],
    [
      'no position remembered: the default size, centred',
      { x: undefined, y: undefined },
      [laptop],
      { width: 1280, height: 820 },
    ],
    [
      'never below the minimum size when the display has room',
      { x: 10, y: 30, width: 300, height: 200 },
      [laptop],
      { x: 10, y: 30, width: 900, height: 600 },
    ],
    [
      'on a display smaller than the minimum: the display’s size',
      { x: 0, y: 0, width: 1280, height: 820 },
      [{ workArea: { x: 0, y: 0, width: 800, height: 560 } }],
      { x: 0, y: 0, width: 800, height: 560 },
    ],
  ])('%s', (_what, change, displays, expected) => {
    const primary = displays[0];
    if (primary === undefined) throw new Error('no display');
    const { x, y, ...rest } = state(change);
    const input: WindowState = { ...rest, ...(x === undefined ? {} : { x }), ...(y === undefined ? {} : { y }) };
    expect(fitToDisplays(input, displays, primary)).toEqual(expected);
  });
});

type DisplayList = { workArea: Rectangle }[];

const temporary: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const folder = () => {
  const dir = mkdtempSync(join(tmpdir(), 'megilance-window-'));
  temporary.push(dir);
  return dir;
};

describe('loadWindowState', () => {
  it('answers the default without a file, or for one that does not parse (and says so)', () => {
    const dir = folder();
    const file = join(dir, 'window-state.json');
    expect(loadWindowState(file)).toEqual({ version: 1, ...DEFAULT_WINDOW_SIZE, maximized: false });
    const log: string[] = [];
    writeFileSync(file, '{"version":1,"width":-5,"height":"tall"}');
    expect(loadWindowState(file, (line) => log.push(line))).toMatchObject(DEFAULT_WINDOW_SIZE);
    writeFileSync(file, 'not json');
    expect(loadWindowState(file, (line) => log.push(line))).toMatchObject(DEFAULT_WINDOW_SIZE);
    expect(log).toHaveLength(2);
  });
});

class FakeWindow extends EventEmitter implements TrackedWindow {
  bounds: Rectangle = { x: 10, y: 20, width: 1000, height: 700 };
  normal: Rectangle = { x: 10, y: 20, width: 1000, height: 700 };
  maximized = false;
  minimized = false;
  fullScreen = false;
  getBounds = () => this.bounds;
  getNormalBounds = () => this.normal;
  isMaximized = () => this.maximized;
  isMinimized = () => this.minimized;
  isFullScreen = () => this.fullScreen;
}

describe('trackWindowState', () => {
  it('writes the bounds once the moves settle, the normal bounds when maximized, and at close', () => {
    vi.useFakeTimers();
    const dir = folder();
    const file = join(dir, 'window-state.json');
    const window = new FakeWindow();
    trackWindowState(window, file, { debounceMs: 500 });

    for (let x = 10; x < 300; x += 10) {
      window.bounds = { ...window.bounds, x };
      window.emit('move');
    }
    vi.advanceTimersByTime(499);
    expect(() => readFileSync(file)).toThrow(/ENOENT/);
    vi.advanceTimersByTime(1);
    expect(loadWindowState(file)).toEqual({ version: 1, x: 290, y: 20, width: 1000, height: 700, maximized: false });

    // Maximized: where it goes when un-maximized is what counts.
    window.maximized = true;
    window.bounds = { x: 0, y: 0, width: 1920, height: 1080 };
    window.normal = { x: 290, y: 20, width: 1000, height: 700 };
    window.emit('maximize');
    vi.advanceTimersByTime(500);
    expect(loadWindowState(file)).toEqual({ version: 1, x: 290, y: 20, width: 1000, height: 700, maximized: true });

    // Minimized bounds are ignored; closing writes what is pending at once.
    window.maximized = false;
    window.bounds = { x: 5, y: 6, width: 1100, height: 750 };
    window.emit('resize');
    window.minimized = true;
    window.bounds = { x: -32000, y: -32000, width: 160, height: 28 };
    window.emit('move');
    window.emit('close');
    expect(loadWindowState(file)).toEqual({ version: 1, x: 5, y: 6, width: 1100, height: 750, maximized: false });
    // Written atomically: no temporary file left behind.
    expect(readdirSync(dir)).toEqual(['window-state.json']);
  });

  it('logs, and does not throw, when the file cannot be written', () => {
    const dir = folder();
    writeFileSync(join(dir, 'blocker'), 'a file where a folder should be');
    const log: string[] = [];
    const window = new FakeWindow();
    trackWindowState(window, join(dir, 'blocker', 'window-state.json'), { log: (line) => log.push(line) });
    window.emit('resize');
    expect(() => window.emit('close')).not.toThrow();
    expect(log[0]).toMatch(/could not write/);
  });
});

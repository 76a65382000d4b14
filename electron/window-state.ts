/**
 * The main window opens where the user left it: its size, position and
 * whether it was maximized, kept in `<userData>/window-state.json`.
 *
 * A remembered position is only used if enough of the window would be on a
 * display that exists now (a monitor may have been unplugged, or the
 * resolution lowered): otherwise the window opens centred on the primary
 * display, its size fitted to that display's work area. Changes are written
 * debounced (moving a window fires dozens of events a second), atomically,
 * and once more when the window closes.
 *
 * Imports only types from 'electron': the window and the screen are passed in.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as z from 'zod';

export interface Rectangle {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const WINDOW_STATE_FILE = 'window-state.json';

const dimension = z.number().int().min(1).max(100_000);
const coordinate = z.number().int().min(-100_000).max(100_000);

const windowStateSchema = z.object({
  version: z.literal(1),
  x: coordinate.optional(),
  y: coordinate.optional(),
  width: dimension,
  height: dimension,
  maximized: z.boolean(),
});
export type WindowState = z.infer<typeof windowStateSchema>;

export const DEFAULT_WINDOW_SIZE = { width: 1280, height: 820 } as const;
export const MIN_WINDOW_SIZE = { width: 900, height: 600 } as const;

/** How much of a window must be on some display for its remembered position to be kept. */
const MIN_VISIBLE = { width: 200, height: 100 } as const;

const defaultState = (): WindowState => ({ version: 1, ...DEFAULT_WINDOW_SIZE, maximized: false });

/** The saved state, or the default when there is none or it does not parse. */
export function loadWindowState(file: string, log: (line: string) => void = () => undefined): WindowState {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    return defaultState();
  }
  try {
    const parsed = windowStateSchema.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
  } catch {
    // Not JSON: the default below.
  }
  log(`window state: ${file} is not valid; using the default size`);
  return defaultState();
}

export interface DisplayLike {
  workArea: Rectangle;
}

function overlap(a: Rectangle, b: Rectangle): { width: number; height: number } {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return { width: Math.max(0, width), height: Math.max(0, height) };
}

/**
 * The bounds to open the window with: the remembered ones when enough of the
 * window lands on a display (its size capped to that display), else the
 * remembered size fitted to the primary display and no position (Electron
 * centres it).
 */
export function fitToDisplays(
  state: WindowState,
  displays: readonly DisplayLike[],
  primary: DisplayLike,
): { x?: number; y?: number; width: number; height: number } {
  const fit = (area: Rectangle) => ({
    width: Math.max(Math.min(state.width, area.width), Math.min(MIN_WINDOW_SIZE.width, area.width)),
    height: Math.max(Math.min(state.height, area.height), Math.min(MIN_WINDOW_SIZE.height, area.height)),
  });
  if (state.x !== undefined && state.y !== undefined) {
    const rect = { x: state.x, y: state.y, width: state.width, height: state.height };
    const home = displays.find((display) => {
      const visible = overlap(rect, display.workArea);
      return visible.width >= MIN_VISIBLE.width && visible.height >= MIN_VISIBLE.height;
    });
    if (home !== undefined) {
      const area = home.workArea;
      const size = fit(area);
      // Keep it on that display: shrunk to fit, then moved in from the right and bottom edges.
      const x = Math.max(area.x, Math.min(state.x, area.x + area.width - size.width));
      const y = Math.max(area.y, Math.min(state.y, area.y + area.height - size.height));
      return { x, y, ...size };
    }
  }
  return fit(primary.workArea);
}

/** The parts of a BrowserWindow the tracker uses (a real one fits). */
export interface TrackedWindow {
  getBounds(): Rectangle;
  getNormalBounds(): Rectangle;
  isMaximized(): boolean;
  isMinimized(): boolean;
  isFullScreen(): boolean;
  // One signature per event, as Electron's BrowserWindow declares them (so a real window fits).
  on(event: 'resize', listener: () => void): unknown;
  on(event: 'move', listener: () => void): unknown;
  on(event: 'maximize', listener: () => void): unknown;
  on(event: 'unmaximize', listener: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
}

export interface WindowStateTracking {
  /** Writes now if a change is pending (also done on close). */
  flush(): void;
}

/** Remembers the window's bounds as they change: debounced, and at close. */
export function trackWindowState(
  window: TrackedWindow,
  file: string,
  options: { debounceMs?: number; log?: (line: string) => void } = {},
): WindowStateTracking {
  const debounceMs = options.debounceMs ?? 500;
  const log = options.log ?? ((line: string) => console.warn(line));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending: WindowState | undefined;

  const capture = (): WindowState | undefined => {
    // A minimized or full-screen window's bounds are not where it should reopen.
    if (window.isMinimized() || window.isFullScreen()) return pending;
    const maximized = window.isMaximized();
    const bounds = maximized ? window.getNormalBounds() : window.getBounds();
    const state = {
      version: 1 as const,
      x: Math.round(bounds.x),
      y: Math.round(bounds.y),
      width: Math.round(bounds.width),
      height: Math.round(bounds.height),
      maximized,
    };
    return windowStateSchema.safeParse(state).success ? state : pending;
  };

  const write = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending === undefined) return;
    const state = pending;
    pending = undefined;
    try {
      mkdirSync(dirname(file), { recursive: true });
      const temporary = join(dirname(file), `.${WINDOW_STATE_FILE}.${process.pid}.tmp`);
      writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
      renameSync(temporary, file);
    } catch (error) {
      log(`window state: could not write ${file}: ${String(error)}`);
    }
  };

  const changed = (): void => {
    pending = capture();
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(write, debounceMs);
  };

  window.on('resize', changed);
  window.on('move', changed);
  window.on('maximize', changed);
  window.on('unmaximize', changed);
  window.on('close', () => {
    pending = capture();
    write();
  });
  window.on('closed', () => {
    if (timer !== undefined) clearTimeout(timer);
  });
  return { flush: write };
}

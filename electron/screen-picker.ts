/**
 * Screen sharing in the desktop app: the page's getDisplayMedia() reaches
 * main's display-media handler, which lists the screens and windows
 * (desktopCapturer), asks the page to let the user pick one (a push the
 * preload exposes as `onScreenPickerRequest`; the answer comes back through
 * `screenPicker.choose`), and gives Chromium the chosen source — or nothing,
 * which the page sees as the user cancelling. Only the app's own pages may
 * ask; an answer counts only for a request still open and a source it offered.
 *
 * Imports no Electron: it runs, and is tested, under Node.
 */
import { randomUUID } from 'node:crypto';
import type { ScreenPickerRequest, ScreenPickerSource } from '../shared/desktop-api.ts';
import { isAppUrl } from './security.ts';

/** An Electron DesktopCapturerSource, as far as this file needs it. */
export interface CapturerSourceLike {
  id: string;
  name: string;
  thumbnail: { toDataURL(): string; isEmpty(): boolean };
}

/** What Electron's display-media handler gets, as far as this file needs it. */
export interface DisplayMediaRequestLike {
  frame: { url: string } | null;
  securityOrigin?: string;
}

/** A larger data URL than this is not sent to the page (the thumbnail is left out). */
const MAX_THUMBNAIL_CHARS = 200_000;

export class ScreenPicker {
  readonly #push: (request: ScreenPickerRequest) => boolean;
  readonly #timeoutMs: number;
  readonly #open = new Map<string, { offered: Set<string>; finish: (sourceId: string | null) => void }>();

  /** `push` sends the request to the page; false when no app page can show it. */
  constructor(push: (request: ScreenPickerRequest) => boolean, timeoutMs = 120_000) {
    this.#push = push;
    this.#timeoutMs = timeoutMs;
  }

  /** Asks the page which source to share; null if the user cancels, the page cannot ask, or no one answers. */
  ask(sources: readonly ScreenPickerSource[]): Promise<string | null> {
    if (sources.length === 0) return Promise.resolve(null);
    const requestId = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(null), this.#timeoutMs);
      timer.unref();
      const finish = (sourceId: string | null) => {
        if (!this.#open.delete(requestId)) return;
        clearTimeout(timer);
        resolve(sourceId);
      };
      this.#open.set(requestId, { offered: new Set(sources.map((s) => s.id)), finish });
      if (!this.#push({ requestId, sources: [...sources] })) finish(null);
    });
  }

  /** The page's answer. Refused (nothing happens) for a request that is not open or a source it did not offer. */
  choose(input: { requestId: string; sourceId: string | null }): { accepted: boolean } {
    const open = this.#open.get(input.requestId);
    if (open === undefined || (input.sourceId !== null && !open.offered.has(input.sourceId))) {
      return { accepted: false };
    }
    open.finish(input.sourceId);
    return { accepted: true };
  }
}

/** The sources as the page gets them: screens first, each with a small picture when there is one. */
export function pickerSources(sources: readonly CapturerSourceLike[]): ScreenPickerSource[] {
  return sources
    .map((source) => {
      const thumbnail = source.thumbnail.isEmpty() ? null : source.thumbnail.toDataURL();
      return {
        id: source.id,
        name: source.name.slice(0, 200),
        kind: source.id.startsWith('screen:') ? ('screen' as const) : ('window' as const),
        thumbnail: thumbnail !== null && thumbnail.length <= MAX_THUMBNAIL_CHARS ? thumbnail : null,
      };
    })
    .sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'screen' ? -1 : 1));
}

/** `session.setDisplayMediaRequestHandler`'s handler. */
export function displayMediaHandler(deps: {
  appOrigin: string;
  getSources: () => Promise<CapturerSourceLike[]>;
  picker: ScreenPicker;
  log: (line: string) => void;
}): (request: DisplayMediaRequestLike, callback: (streams: { video?: CapturerSourceLike }) => void) => void {
  return (request, callback) => {
    const from = request.frame?.url ?? request.securityOrigin ?? '';
    if (!isAppUrl(from, deps.appOrigin)) {
      deps.log(`screen capture refused for a page that is not the app's (${from || 'unknown'})`);
      callback({});
      return;
    }
    void (async () => {
      const sources = await deps.getSources();
      const chosen = await deps.picker.ask(pickerSources(sources));
      const source = chosen === null ? undefined : sources.find((s) => s.id === chosen);
      callback(source === undefined ? {} : { video: source });
    })().catch((error: unknown) => {
      deps.log(`screen capture failed: ${String(error)}`);
      callback({});
    });
  };
}

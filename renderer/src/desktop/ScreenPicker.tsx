/**
 * The desktop app's "what do you want to share?" dialog: main asks (the page
 * called getDisplayMedia, electron/screen-picker.ts) with the screens and
 * windows it can capture; the user picks one or cancels, and the answer goes
 * back to main. In a browser it renders nothing (the browser has its own).
 */
import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { MegilanceDesktopApi, ScreenPickerRequest } from '../../../shared/desktop-api.ts';
import { desktopApi } from '../api/endpoints.ts';

export function ScreenPicker({ api = desktopApi() }: { api?: MegilanceDesktopApi | undefined }) {
  const { t } = useTranslation();
  const [request, setRequest] = useState<ScreenPickerRequest | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  useEffect(() => {
    if (api?.onScreenPickerRequest === undefined) return;
    return api.onScreenPickerRequest((next) => {
      setRequest(next);
      setSelected(next.sources[0]?.id ?? null);
    });
  }, [api]);

  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    if (request !== null && !dialog.open) dialog.showModal();
    if (request === null && dialog.open) dialog.close();
  }, [request]);

  if (api?.onScreenPickerRequest === undefined) return null;
  const answer = (sourceId: string | null) => {
    if (request !== null) void api.screenPicker.choose({ requestId: request.requestId, sourceId });
    setRequest(null);
  };
  return (
    <dialog
      ref={ref}
      className="dialog screen-picker"
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        answer(null);
      }}
    >
      {request !== null && (
        <>
          <h2 id={titleId}>{t('desktopShare.title')}</h2>
          <ul className="screen-picker-list" role="listbox" aria-labelledby={titleId}>
            {request.sources.map((source) => (
              <li
                key={source.id}
                role="option"
                aria-selected={selected === source.id}
                tabIndex={0}
                className="screen-picker-source"
                onClick={() => setSelected(source.id)}
                onDoubleClick={() => answer(source.id)}
                onKeyDown={(event) => {
                  if (event.key === 'Enter') answer(source.id);
                  if (event.key === ' ') setSelected(source.id);
                }}
              >
                {source.thumbnail !== null ? (
                  <img src={source.thumbnail} alt="" width={160} height={90} />
                ) : (
                  <span className="screen-picker-blank" aria-hidden="true" />
                )}
                <span>{source.kind === 'screen' ? t('desktopShare.screen', { name: source.name }) : source.name}</span>
              </li>
            ))}
          </ul>
          <div className="dialog-actions">
            <button type="button" className="button button-secondary" onClick={() => answer(null)}>
              {t('dialog.cancel')}
            </button>
            <button
              type="button"
              className="button"
              aria-disabled={selected === null ? true : undefined}
              onClick={() => selected !== null && answer(selected)}
            >
              {t('desktopShare.share')}
            </button>
          </div>
        </>
      )}
    </dialog>
  );
}

/**
 * A modal question before something that cannot be undone (the native
 * <dialog>: focus moves into it, stays there, Escape cancels, and goes back
 * to where it was on close). Cancel comes first and takes focus, so a stray
 * Enter does no harm.
 */
import { useEffect, useId, useRef, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';

export function ConfirmDialog({
  open,
  title,
  body,
  confirmLabel,
  busyLabel,
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  body: ReactNode;
  confirmLabel: string;
  busyLabel: string;
  busy: boolean;
  error: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const bodyId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      onCancel={(event) => {
        // Escape: close through React state, and not while the request is on its way.
        event.preventDefault();
        if (!busy) onCancel();
      }}
    >
      {open && (
        <>
          <h2 id={titleId}>{title}</h2>
          <div id={bodyId} className="dialog-body">
            {body}
          </div>
          <ErrorNotice error={error} />
          <div className="dialog-actions">
            <button type="button" className="button button-secondary" onClick={() => !busy && onCancel()}>
              {t('dialog.cancel')}
            </button>
            <button
              type="button"
              className="button button-danger"
              aria-disabled={busy ? true : undefined}
              onClick={() => !busy && onConfirm()}
            >
              {busy ? busyLabel : confirmLabel}
            </button>
          </div>
        </>
      )}
    </dialog>
  );
}

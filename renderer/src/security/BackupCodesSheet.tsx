/**
 * Fresh backup codes, shown this once (the server keeps only hashes): the
 * list, a download as a text file, and "I have saved them" to close.
 */
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { backupCodesFile } from './twoStep.ts';

export function BackupCodesSheet({
  codes,
  generatedAt,
  onSaved,
}: {
  codes: string[];
  generatedAt: Date;
  onSaved: () => void;
}) {
  const { t, i18n } = useTranslation();
  const headingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => headingRef.current?.focus(), []);
  const when = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' }).format(generatedAt);

  const download = () => {
    const text = backupCodesFile(codes, {
      title: t('security.backupCodes.fileTitle'),
      generated: t('security.backupCodes.generated', { when }),
      note: t('security.backupCodes.fileNote'),
    });
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = 'megilance-backup-codes.txt';
    link.click();
    // After the click has started the download.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  };

  return (
    <div className="wizard" role="group" aria-labelledby="backup-codes-heading">
      <h3 id="backup-codes-heading" ref={headingRef} tabIndex={-1}>
        {t('security.backupCodes.sheetHeading')}
      </h3>
      <p>{t('security.backupCodes.sheetLead')}</p>
      <p className="warning-text">{t('security.backupCodes.onlyOnce')}</p>
      <ol className="backup-codes" aria-label={t('security.backupCodes.listLabel')}>
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <p className="muted">{t('security.backupCodes.generated', { when })}</p>
      <div className="actions">
        <button type="button" className="button button-secondary" onClick={download}>
          {t('security.backupCodes.download')}
        </button>
        <button type="button" className="button" onClick={onSaved}>
          {t('security.backupCodes.saved')}
        </button>
      </div>
    </div>
  );
}

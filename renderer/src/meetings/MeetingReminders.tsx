/**
 * Meeting reminders as they arrive on `notifications.stream`: shown in the
 * app as a small card (with Join and Dismiss), and handed to the desktop app
 * for a native notification when it runs inside it (`window.megilance`,
 * which shows one only while the window is not focused). Mounted once, for
 * signed-in users, beside the shell.
 */
import { useSubscription } from '@trpc/tanstack-react-query';
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import type { MegilanceDesktopApi } from '../../../shared/desktop-api.ts';
import { useTRPC } from '../api/trpc.ts';
import { useNow } from '../settings/useNow.ts';
import { formatStartsIn } from './time.ts';

interface Reminder {
  meetingId: string;
  title: string;
  startsAt: Date;
}

/** The desktop app's notifications, when this page runs inside it. */
function desktopNotifications(): MegilanceDesktopApi['notifications'] | null {
  const bridge = (globalThis as { megilance?: Partial<MegilanceDesktopApi> }).megilance;
  return typeof bridge?.notifications?.show === 'function' ? bridge.notifications : null;
}

export function MeetingReminders() {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const [reminders, setReminders] = useState<Reminder[]>([]);
  const now = useNow(30_000);

  const onData = useCallback(
    (notification: { kind: 'meeting-reminder'; meetingId: string; title: string; startsAt: Date }) => {
      if (notification.kind !== 'meeting-reminder') return;
      const reminder = {
        meetingId: notification.meetingId,
        title: notification.title,
        startsAt: notification.startsAt,
      };
      setReminders((shown) => [...shown.filter((r) => r.meetingId !== reminder.meetingId), reminder]);
      const desktop = desktopNotifications();
      if (desktop !== null) {
        const when = formatStartsIn(reminder.startsAt.getTime(), Date.now(), i18n.language);
        desktop
          .show({
            title: t('meetings.reminder.title', { title: reminder.title }).slice(0, 120),
            body: t('meetings.reminder.body', { title: reminder.title, when }).slice(0, 500),
            kind: 'call',
            route: `/calls/${reminder.meetingId}`,
          })
          .catch(() => undefined);
      }
    },
    [t, i18n.language],
  );
  useSubscription(trpc.notifications.stream.subscriptionOptions(undefined, { onData }));

  const dismiss = (meetingId: string) => setReminders((shown) => shown.filter((r) => r.meetingId !== meetingId));
  return (
    <section
      aria-label={t('meetings.reminder.region')}
      aria-live="polite"
      style={{
        position: 'fixed',
        insetInlineEnd: 20,
        insetBlockEnd: 44,
        zIndex: 20,
        display: 'grid',
        gap: 10,
        width: 'min(360px, calc(100vw - 40px))',
      }}
    >
      {reminders.map((reminder) => (
        <div key={reminder.meetingId} className="card" role="status" style={{ margin: 0 }}>
          <strong>{t('meetings.reminder.title', { title: reminder.title })}</strong>
          <p className="muted">
            {t('meetings.reminder.body', {
              title: reminder.title,
              when: formatStartsIn(reminder.startsAt.getTime(), now, i18n.language),
            })}
          </p>
          <div className="item-actions">
            <Link
              className="button button-small"
              to={`/calls/${reminder.meetingId}`}
              aria-label={t('meetings.reminder.joinLabel', { title: reminder.title })}
              onClick={() => dismiss(reminder.meetingId)}
            >
              {t('meetings.reminder.join')}
            </Link>
            <button
              type="button"
              className="button button-secondary button-small"
              onClick={() => dismiss(reminder.meetingId)}
            >
              {t('meetings.reminder.dismiss')}
            </button>
          </div>
        </div>
      ))}
    </section>
  );
}

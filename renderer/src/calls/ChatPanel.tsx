/**
 * The call's chat: what was said in this meeting (also before one joined),
 * new messages as they arrive, and a box to write. Messages are plain text,
 * rendered as text (never as markup).
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { CHAT_MESSAGE_MAX_LENGTH } from '../../../shared/calls.ts';
import { useTRPC } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import type { CallClient, CallSnapshot } from './callClient.ts';

export function ChatPanel({
  call,
  snapshot,
  meetingId,
}: {
  call: CallClient;
  snapshot: CallSnapshot;
  meetingId: string;
}) {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const history = useQuery(trpc.calls.chat.list.queryOptions({ meetingId }));
  const [draft, setDraft] = useState('');
  const listRef = useRef<HTMLOListElement>(null);
  const send = useMutation({
    mutationFn: (text: string) => call.sendChat(text),
    onSuccess: () => setDraft(''),
  });
  // The meeting's history, then what arrived during the call, once each.
  const messages = useMemo(() => {
    const byId = new Map((history.data ?? []).map((m) => [m.id, m]));
    for (const message of snapshot.chat) byId.set(message.id, message);
    return [...byId.values()].sort((a, b) => a.at.getTime() - b.at.getTime());
  }, [history.data, snapshot.chat]);
  useEffect(() => {
    const list = listRef.current;
    if (list !== null) list.scrollTop = list.scrollHeight;
  }, [messages.length]);
  const time = new Intl.DateTimeFormat(i18n.language, { timeStyle: 'short' });

  return (
    <section className="card chat-panel" aria-labelledby="chat-heading">
      <h2 id="chat-heading">{t('calls.chat.heading')}</h2>
      {messages.length === 0 ? (
        <p className="muted">{t('calls.chat.empty')}</p>
      ) : (
        <ol ref={listRef} className="chat-messages" aria-label={t('calls.chat.messages')} aria-live="polite">
          {messages.map((message) => (
            <li key={message.id}>
              <span className="chat-meta">
                <strong>{message.senderName}</strong>
                {message.guest && <span className="badge badge-muted">{t('calls.people.guest')}</span>}{' '}
                <time dateTime={message.at.toISOString()}>{time.format(message.at)}</time>
              </span>
              <span className="chat-text">{message.text}</span>
            </li>
          ))}
        </ol>
      )}
      <form
        className="chat-form"
        onSubmit={(event) => {
          event.preventDefault();
          const text = draft.trim();
          if (text !== '' && !send.isPending) send.mutate(text);
        }}
      >
        <label htmlFor="chat-input" className="visually-hidden">
          {t('calls.chat.label')}
        </label>
        <input
          id="chat-input"
          className="input"
          value={draft}
          maxLength={CHAT_MESSAGE_MAX_LENGTH}
          placeholder={t('calls.chat.placeholder')}
          autoComplete="off"
          onChange={(event) => setDraft(event.target.value)}
        />
        <button type="submit" className="button" aria-disabled={send.isPending ? true : undefined}>
          {t('calls.chat.send')}
        </button>
      </form>
      <ErrorNotice error={send.error ?? history.error} />
    </section>
  );
}

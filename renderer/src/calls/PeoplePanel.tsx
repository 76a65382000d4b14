/**
 * Who is in the call, with raised hands first (in the order they were
 * raised); for the host, the controls people know from Zoom: mute, stop
 * video, remove, make host, mute all, lock, the waiting room and who waits
 * in it.
 */
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import type { CallClient, CallSnapshot } from './callClient.ts';

export function PeoplePanel({ call, snapshot, isHost }: { call: CallClient; snapshot: CallSnapshot; isHost: boolean }) {
  const { t } = useTranslation();
  const api = useTRPCClient();
  const host = useMutation({
    mutationFn: (run: (ref: { meetingId: string; peerId: string }) => Promise<unknown>) => {
      const ref = call.peerRef();
      return ref === null ? Promise.resolve() : run(ref);
    },
  });
  const hands = snapshot.room.hands;
  const people = [...snapshot.peers].sort((a, b) => {
    const ha = hands.indexOf(a.peerId);
    const hb = hands.indexOf(b.peerId);
    return (ha === -1 ? Infinity : ha) - (hb === -1 ? Infinity : hb) || a.displayName.localeCompare(b.displayName);
  });
  return (
    <section className="card people-panel" aria-labelledby="people-heading">
      <h2 id="people-heading">{t('calls.people.heading', { count: snapshot.peers.length + 1 })}</h2>
      {isHost && (
        <div className="call-controls" role="group" aria-label={t('calls.people.hostControls')}>
          <button
            type="button"
            className="button button-secondary"
            onClick={() => host.mutate((ref) => api.calls.host.muteAll.mutate(ref))}
          >
            {t('calls.people.muteAll')}
          </button>
          <button
            type="button"
            className="button button-secondary"
            aria-pressed={snapshot.room.locked}
            onClick={() =>
              host.mutate((ref) => api.calls.host.setLocked.mutate({ ...ref, locked: !snapshot.room.locked }))
            }
          >
            {snapshot.room.locked ? t('calls.people.unlock') : t('calls.people.lock')}
          </button>
          <button
            type="button"
            className="button button-secondary"
            aria-pressed={snapshot.room.waitingRoom}
            onClick={() =>
              host.mutate((ref) =>
                api.calls.host.setWaitingRoom.mutate({ ...ref, enabled: !snapshot.room.waitingRoom }),
              )
            }
          >
            {snapshot.room.waitingRoom ? t('calls.people.waitingRoomOff') : t('calls.people.waitingRoomOn')}
          </button>
        </div>
      )}
      {isHost && snapshot.room.waiting.length > 0 && (
        <>
          <h3>{t('calls.people.waiting', { count: snapshot.room.waiting.length })}</h3>
          <ul className="item-list" aria-label={t('calls.people.waitingList')}>
            {snapshot.room.waiting.map((person) => (
              <li key={person.peerId} className="item" aria-label={person.displayName}>
                <span>{person.displayName}</span>
                <span className="call-controls">
                  <button
                    type="button"
                    className="button"
                    onClick={() =>
                      host.mutate((ref) => api.calls.host.admit.mutate({ ...ref, targetPeerId: person.peerId }))
                    }
                  >
                    {t('calls.people.admit')}
                  </button>
                  <button
                    type="button"
                    className="button button-secondary"
                    onClick={() =>
                      host.mutate((ref) => api.calls.host.deny.mutate({ ...ref, targetPeerId: person.peerId }))
                    }
                  >
                    {t('calls.people.deny')}
                  </button>
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
      <ul className="item-list" aria-label={t('calls.people.list')}>
        {people.map((person) => {
          const target = { targetPeerId: person.peerId };
          const raised = hands.includes(person.peerId);
          // Joined by an invite link, without an account: never the host (the server refuses it too).
          const guest = person.userId.startsWith('guest:');
          return (
            <li key={person.peerId} className="item" aria-label={person.displayName}>
              <span>
                {person.displayName}
                {person.role === 'host' && <span className="badge badge-muted">{t('calls.people.host')}</span>}
                {guest && <span className="badge badge-muted">{t('calls.people.guest')}</span>}
                {raised && <span className="badge badge-success">{t('calls.people.handRaised')}</span>}
              </span>
              {isHost && (
                <span className="call-controls">
                  {raised && (
                    <button
                      type="button"
                      className="button button-secondary"
                      onClick={() => host.mutate((ref) => api.calls.host.lowerHand.mutate({ ...ref, ...target }))}
                    >
                      {t('calls.people.lowerHand')}
                    </button>
                  )}
                  <button
                    type="button"
                    className="button button-secondary"
                    aria-label={t('calls.people.muteLabel', { name: person.displayName })}
                    onClick={() =>
                      host.mutate((ref) => api.calls.host.mute.mutate({ ...ref, ...target, source: 'microphone' }))
                    }
                  >
                    {t('calls.people.mute')}
                  </button>
                  <button
                    type="button"
                    className="button button-secondary"
                    aria-label={t('calls.people.stopVideoLabel', { name: person.displayName })}
                    onClick={() =>
                      host.mutate((ref) => api.calls.host.mute.mutate({ ...ref, ...target, source: 'camera' }))
                    }
                  >
                    {t('calls.people.stopVideo')}
                  </button>
                  {!guest && (
                    <button
                      type="button"
                      className="button button-secondary"
                      aria-label={t('calls.people.makeHostLabel', { name: person.displayName })}
                      onClick={() => host.mutate((ref) => api.calls.host.transfer.mutate({ ...ref, ...target }))}
                    >
                      {t('calls.people.makeHost')}
                    </button>
                  )}
                  <button
                    type="button"
                    className="button button-danger"
                    aria-label={t('calls.people.removeLabel', { name: person.displayName })}
                    onClick={() => host.mutate((ref) => api.calls.host.remove.mutate({ ...ref, ...target }))}
                  >
                    {t('calls.people.remove')}
                  </button>
                </span>
              )}
            </li>
          );
        })}
      </ul>
      <ErrorNotice error={host.error} />
    </section>
  );
}

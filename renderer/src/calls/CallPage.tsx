/**
 * A meeting's call: first the lobby (camera preview, microphone level, device
 * choice, start muted or without camera), then the call itself (a tile per
 * person, the active speaker highlighted, mute / camera / leave, and "end for
 * everyone" for the host).
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { useTRPC, useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { Page } from '../shell/Page.tsx';
import { CallClient, type CallSnapshot } from './callClient.ts';
import { listDevices, mediaErrorKind, openTrack, watchLevel, type DeviceChoice, type MediaDevices } from './media.ts';
import { ParticipantTile } from './ParticipantTile.tsx';

export function CallPage() {
  const { meetingId = '' } = useParams();
  const { t } = useTranslation();
  const trpc = useTRPC();
  const meeting = useQuery(trpc.meetings.get.queryOptions({ meetingId }));
  const client = useTRPCClient();
  const call = useMemo(() => new CallClient(client, meetingId), [client, meetingId]);
  const snapshot = useSyncExternalStore(call.subscribe, call.snapshot);
  // Leaving the screen leaves the call.
  useEffect(() => () => void call.leave(), [call]);

  const title = meeting.data?.title ?? t('calls.call.title');
  return (
    <Page title={title}>
      <ErrorNotice error={meeting.error} />
      {meeting.data !== undefined &&
        (snapshot.phase === 'idle' || snapshot.phase === 'failed' ? (
          <Lobby call={call} snapshot={snapshot} />
        ) : snapshot.phase === 'ended' ? (
          <section className="card" aria-live="polite">
            <h2>{snapshot.reason === 'ended-by-host' ? t('calls.call.endedByHost') : t('calls.call.left')}</h2>
            <p>
              <Link to="/calls">{t('calls.call.backToCalls')}</Link>
            </p>
          </section>
        ) : (
          <InCall call={call} snapshot={snapshot} isHost={meeting.data.myRole === 'host'} meetingId={meetingId} />
        ))}
    </Page>
  );
}

function Lobby({ call, snapshot }: { call: CallClient; snapshot: CallSnapshot }) {
  const { t } = useTranslation();
  const [devices, setDevices] = useState<MediaDevices | null>(null);
  const [choice, setChoice] = useState<DeviceChoice>({ microphone: null, camera: null, speaker: null });
  const [wants, setWants] = useState({ microphone: true, camera: true });
  const [tracks, setTracks] = useState<{ microphone: MediaStreamTrack | null; camera: MediaStreamTrack | null }>({
    microphone: null,
    camera: null,
  });
  const [problem, setProblem] = useState<string | null>(null);
  const [level, setLevel] = useState(0);
  const preview = useRef<HTMLVideoElement>(null);

  // Open the chosen devices (again when the choice changes); stop what is replaced.
  useEffect(() => {
    let cancelled = false;
    const opened: MediaStreamTrack[] = [];
    void (async () => {
      const next = { microphone: null as MediaStreamTrack | null, camera: null as MediaStreamTrack | null };
      try {
        if (wants.microphone) opened.push((next.microphone = await openTrack('audio', choice.microphone)));
        if (wants.camera) opened.push((next.camera = await openTrack('video', choice.camera)));
        if (cancelled) return;
        setProblem(null);
        setTracks(next);
        setDevices(await listDevices());
      } catch (error) {
        if (!cancelled) setProblem(t(`calls.lobby.mediaError.${mediaErrorKind(error)}`));
      }
    })();
    return () => {
      cancelled = true;
      // Kept only if they were handed to the call.
      if (call.snapshot().phase === 'idle' || call.snapshot().phase === 'failed')
        for (const track of opened) track.stop();
    };
  }, [call, choice.microphone, choice.camera, wants.microphone, wants.camera, t]);

  useEffect(() => {
    if (preview.current !== null)
      preview.current.srcObject = tracks.camera === null ? null : new MediaStream([tracks.camera]);
  }, [tracks.camera]);
  useEffect(
    () => (tracks.microphone === null ? undefined : watchLevel(tracks.microphone, setLevel)),
    [tracks.microphone],
  );

  const join = useMutation({ mutationFn: () => call.join(tracks) });
  const select = (kind: keyof DeviceChoice, options: MediaDeviceInfo[] | undefined, label: string) =>
    options !== undefined && options.length > 0 ? (
      <label className="field">
        <span className="label">{label}</span>
        <select
          className="input"
          value={choice[kind] ?? options[0]!.deviceId}
          onChange={(event) => setChoice({ ...choice, [kind]: event.target.value })}
        >
          {options.map((device, i) => (
            <option key={device.deviceId} value={device.deviceId}>
              {device.label === '' ? t('calls.lobby.deviceN', { n: i + 1 }) : device.label}
            </option>
          ))}
        </select>
      </label>
    ) : null;

  return (
    <section className="card call-lobby" aria-labelledby="lobby-heading">
      <h2 id="lobby-heading">{t('calls.lobby.heading')}</h2>
      <div className="call-lobby-body">
        <div className="call-preview">
          {tracks.camera !== null ? (
            <video
              ref={preview}
              className="call-video mirrored"
              autoPlay
              muted
              playsInline
              aria-label={t('calls.lobby.preview')}
            />
          ) : (
            <div className="call-video-off">{t('calls.lobby.cameraOff')}</div>
          )}
          <div
            className="level-meter"
            role="meter"
            aria-label={t('calls.lobby.micLevel')}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={Math.round(level * 100)}
          >
            <span style={{ width: `${Math.round(level * 100)}%` }} />
          </div>
        </div>
        <div className="form">
          {select('microphone', devices?.microphones, t('calls.lobby.microphone'))}
          {select('camera', devices?.cameras, t('calls.lobby.camera'))}
          {select('speaker', devices?.speakers, t('calls.lobby.speaker'))}
          <label className="choice">
            <input
              type="checkbox"
              checked={wants.microphone}
              onChange={(e) => setWants({ ...wants, microphone: e.target.checked })}
            />
            {t('calls.lobby.useMicrophone')}
          </label>
          <label className="choice">
            <input
              type="checkbox"
              checked={wants.camera}
              onChange={(e) => setWants({ ...wants, camera: e.target.checked })}
            />
            {t('calls.lobby.useCamera')}
          </label>
          {problem !== null && (
            <p className="warning-text" role="alert">
              {problem}
            </p>
          )}
          <ErrorNotice error={join.error} />
          {snapshot.phase === 'failed' && snapshot.reason !== null && join.error === null && (
            <p className="warning-text">{snapshot.reason}</p>
          )}
          <button
            type="button"
            className="button"
            aria-disabled={join.isPending ? true : undefined}
            onClick={() => !join.isPending && join.mutate()}
          >
            {join.isPending ? t('calls.lobby.joining') : t('calls.lobby.join')}
          </button>
        </div>
      </div>
    </section>
  );
}

function InCall({
  call,
  snapshot,
  isHost,
  meetingId,
}: {
  call: CallClient;
  snapshot: CallSnapshot;
  isHost: boolean;
  meetingId: string;
}) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const end = useMutation(trpc.meetings.end.mutationOptions());
  const toggle = useMutation({
    mutationFn: ({ source, muted }: { source: 'microphone' | 'camera'; muted: boolean }) =>
      call.setMuted(source, muted),
  });
  const people = [
    ...(snapshot.self === null ? [] : [{ peer: snapshot.self, self: true }]),
    ...snapshot.peers.map((peer) => ({ peer, self: false })),
  ];
  return (
    <section className="call" aria-label={t('calls.call.region')}>
      <p className="call-status" role="status">
        {snapshot.phase === 'joining'
          ? t('calls.call.joining')
          : snapshot.phase === 'reconnecting'
            ? t('calls.call.reconnecting')
            : t('calls.call.inCall', { count: people.length })}
      </p>
      <ul className="call-grid" aria-label={t('calls.call.participants')}>
        {people.map(({ peer, self }) => (
          <ParticipantTile
            key={peer.peerId}
            name={self ? t('calls.call.you', { name: peer.displayName }) : peer.displayName}
            self={self}
            speaking={snapshot.activeSpeaker === peer.peerId}
            video={
              self ? (snapshot.muted.camera ? null : snapshot.local.camera) : findTrack(snapshot, peer.peerId, 'camera')
            }
            audio={self ? null : findTrack(snapshot, peer.peerId, 'microphone')}
            muted={
              self
                ? snapshot.muted.microphone || snapshot.local.microphone === null
                : isPaused(snapshot, peer.peerId, 'microphone')
            }
          />
        ))}
      </ul>
      <div className="call-controls" role="toolbar" aria-label={t('calls.call.controls')}>
        <button
          type="button"
          className="button button-secondary"
          aria-pressed={snapshot.muted.microphone}
          disabled={snapshot.local.microphone === null}
          onClick={() => toggle.mutate({ source: 'microphone', muted: !snapshot.muted.microphone })}
        >
          {snapshot.muted.microphone ? t('calls.call.unmute') : t('calls.call.mute')}
        </button>
        <button
          type="button"
          className="button button-secondary"
          aria-pressed={snapshot.muted.camera}
          disabled={snapshot.local.camera === null}
          onClick={() => toggle.mutate({ source: 'camera', muted: !snapshot.muted.camera })}
        >
          {snapshot.muted.camera ? t('calls.call.cameraOn') : t('calls.call.cameraOff')}
        </button>
        <button type="button" className="button button-danger" onClick={() => void call.leave()}>
          {t('calls.call.leave')}
        </button>
        {isHost && (
          <button
            type="button"
            className="button button-danger"
            aria-disabled={end.isPending ? true : undefined}
            onClick={() => !end.isPending && end.mutate({ meetingId })}
          >
            {t('calls.call.endForAll')}
          </button>
        )}
      </div>
      <ErrorNotice error={toggle.error ?? end.error} />
    </section>
  );
}

function findTrack(snapshot: CallSnapshot, peerId: string, source: 'camera' | 'microphone'): MediaStreamTrack | null {
  const remote = snapshot.remote.find((r) => r.peerId === peerId && r.source === source && !r.paused);
  return remote?.track ?? null;
}

function isPaused(snapshot: CallSnapshot, peerId: string, source: 'microphone'): boolean {
  const remote = snapshot.remote.find((r) => r.peerId === peerId && r.source === source);
  return remote === undefined || remote.paused;
}

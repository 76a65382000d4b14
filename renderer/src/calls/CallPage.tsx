/**
 * A meeting's call: first the lobby (camera preview, microphone level, device
 * choice, start muted or without camera), then the call itself (a tile per
 * person, the active speaker highlighted, mute / camera / leave, and "end for
 * everyone" for the host). `CallView` is the part shared with guests who
 * join by an invite link (renderer/src/guests/).
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { useTRPC, useTRPCClient } from '../api/trpc.ts';
import { ErrorNotice } from '../errors/ErrorNotice.tsx';
import { Page } from '../shell/Page.tsx';
import { CallClient, type CallSnapshot } from './callClient.ts';
import { listDevices, mediaErrorKind, openTrack, watchLevel, type DeviceChoice, type MediaDevices } from './media.ts';
import { InviteLinkButton } from './InviteLinkButton.tsx';
import { ParticipantTile } from './ParticipantTile.tsx';
import { ChatPanel } from './ChatPanel.tsx';
import { PeoplePanel } from './PeoplePanel.tsx';
import type { MediaSource } from '../../../shared/calls.ts';

export function CallPage() {
  const { meetingId = '' } = useParams();
  const { t } = useTranslation();
  const trpc = useTRPC();
  const meeting = useQuery(trpc.meetings.get.queryOptions({ meetingId }));
  const client = useTRPCClient();
  const call = useMemo(() => new CallClient(client, meetingId), [client, meetingId]);

  const title = meeting.data?.title ?? t('calls.call.title');
  return (
    <Page title={title}>
      <ErrorNotice error={meeting.error} />
      {meeting.data !== undefined && <CallView call={call} meetingId={meetingId} guest={false} />}
    </Page>
  );
}

/**
 * The lobby, then the call, then what follows it: the same for a member (in
 * the app) and a guest by link (GuestJoinPage), given the call's client. A
 * guest sees no recordings and no way back to the call list; host controls
 * follow the peer's role, which a guest never has.
 */
export function CallView({ call, meetingId, guest }: { call: CallClient; meetingId: string; guest: boolean }) {
  const { t } = useTranslation();
  const snapshot = useSyncExternalStore(call.subscribe, call.snapshot);
  // Leaving the screen leaves the call.
  useEffect(() => () => void call.leave(), [call]);

  return snapshot.phase === 'idle' || snapshot.phase === 'failed' ? (
    <>
      <Lobby call={call} snapshot={snapshot} />
      {!guest && <Recordings meetingId={meetingId} />}
    </>
  ) : snapshot.phase === 'ended' ? (
    <>
      <section className="card" aria-live="polite">
        <h2>{snapshot.reason === 'ended-by-host' ? t('calls.call.endedByHost') : t('calls.call.left')}</h2>
        {!guest && (
          <p>
            <Link to="/calls">{t('calls.call.backToCalls')}</Link>
          </p>
        )}
      </section>
      {!guest && <Recordings meetingId={meetingId} />}
    </>
  ) : (
    <InCall call={call} snapshot={snapshot} meetingId={meetingId} />
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
  // Joining waits for the chosen devices to open, so no one joins silently without their camera.
  const [opening, setOpening] = useState(true);
  const [level, setLevel] = useState(0);
  const preview = useRef<HTMLVideoElement>(null);

  // Open the chosen devices (again when the choice changes); stop what is replaced.
  useEffect(() => {
    let cancelled = false;
    const opened: MediaStreamTrack[] = [];
    void (async () => {
      setOpening(true);
      const next = { microphone: null as MediaStreamTrack | null, camera: null as MediaStreamTrack | null };
      try {
        if (wants.microphone) opened.push((next.microphone = await openTrack('audio', choice.microphone)));
        if (wants.camera) opened.push((next.camera = await openTrack('video', choice.camera)));
        if (cancelled) return;
        setProblem(null);
        setTracks(next);
        setOpening(false);
        setDevices(await listDevices());
      } catch (error) {
        if (!cancelled) {
          setProblem(t(`calls.lobby.mediaError.${mediaErrorKind(error)}`));
          setOpening(false);
        }
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
          onChange={(event) => {
            setChoice({ ...choice, [kind]: event.target.value });
            if (kind === 'speaker') call.setSpeaker(event.target.value);
          }}
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
            aria-disabled={join.isPending || opening ? true : undefined}
            onClick={() => !join.isPending && !opening && join.mutate()}
          >
            {join.isPending ? t('calls.lobby.joining') : opening ? t('calls.lobby.opening') : t('calls.lobby.join')}
          </button>
        </div>
      </div>
    </section>
  );
}

function InCall({ call, snapshot, meetingId }: { call: CallClient; snapshot: CallSnapshot; meetingId: string }) {
  const { t } = useTranslation();
  const trpc = useTRPC();
  const end = useMutation(trpc.meetings.end.mutationOptions());
  const api = useTRPCClient();
  const recording = useMutation({
    mutationFn: (start: boolean) =>
      start ? api.calls.recording.start.mutate({ meetingId }) : api.calls.recording.stop.mutate({ meetingId }),
  });
  const [layout, setLayout] = useState<'grid' | 'speaker'>('grid');
  const [pinned, setPinned] = useState<string | null>(null);
  const action = useMutation({ mutationFn: (run: () => Promise<unknown>) => run() });
  const isHost = snapshot.self?.role === 'host';
  const handRaised = snapshot.self !== null && snapshot.room.hands.includes(snapshot.self.peerId);

  if (snapshot.phase === 'waiting') {
    return (
      <section className="card" aria-live="polite">
        <h2>{t('calls.call.waitingHeading')}</h2>
        <p>{t('calls.call.waitingBody')}</p>
        <button type="button" className="button button-secondary" onClick={() => void call.leave()}>
          {t('calls.call.leave')}
        </button>
      </section>
    );
  }

  const tiles = callTiles(snapshot, t);
  // Speaker layout: the pinned person, else the active speaker, else a screen share, large; the rest in a strip.
  const focusKey =
    layout === 'speaker'
      ? (
          tiles.find((tile) => tile.peerId === pinned && tile.kind === 'camera') ??
          tiles.find((tile) => tile.kind === 'screen') ??
          tiles.find((tile) => tile.peerId === snapshot.activeSpeaker && !tile.self) ??
          tiles.find((tile) => !tile.self) ??
          tiles[0]
        )?.key
      : undefined;
  const pin = (peerId: string | null) => {
    setPinned(peerId);
    action.mutate(() => call.pin(peerId === null ? [] : [peerId]));
  };

  return (
    <section className="call" aria-label={t('calls.call.region')}>
      <p className="call-status" role="status">
        {snapshot.phase === 'joining'
          ? t('calls.call.joining')
          : snapshot.phase === 'reconnecting'
            ? t('calls.call.reconnecting')
            : t('calls.call.inCall', { count: snapshot.peers.length + 1 })}
        {snapshot.room.locked && <span className="badge badge-muted">{t('calls.call.locked')}</span>}
        {snapshot.recording.active && (
          <span className="badge badge-recording" role="img" aria-label={t('calls.recording.indicator')}>
            ● {t('calls.recording.indicator')}
          </span>
        )}
      </p>
      {snapshot.mutedByHost !== null && (
        <p className="notice" role="alert">
          {t(`calls.call.byHost.${snapshot.mutedByHost}`)}{' '}
          <button type="button" className="link-button" onClick={() => call.dismissHostNotice()}>
            {t('calls.call.dismiss')}
          </button>
        </p>
      )}
      <ul
        className={`call-grid${layout === 'speaker' ? ' speaker-layout' : ''}`}
        aria-label={t('calls.call.participants')}
      >
        {tiles.map((tile) => (
          <ParticipantTile
            key={tile.key}
            name={tile.name}
            person={tile.person}
            self={tile.self}
            focused={tile.key === focusKey}
            speaking={tile.kind === 'camera' && snapshot.activeSpeaker === tile.peerId}
            handRaised={tile.kind === 'camera' && snapshot.room.hands.includes(tile.peerId)}
            video={tile.video}
            audio={tile.audio}
            muted={tile.muted}
            quality={tile.quality}
            speaker={snapshot.speaker}
            pinned={pinned === tile.peerId && tile.kind === 'camera'}
            onPin={
              tile.self || tile.kind !== 'camera' ? undefined : () => pin(pinned === tile.peerId ? null : tile.peerId)
            }
            onView={tile.consumerId === null ? undefined : (view) => void call.setConsumerView(tile.consumerId!, view)}
          />
        ))}
      </ul>
      <div className="call-controls" role="toolbar" aria-label={t('calls.call.controls')}>
        <button
          type="button"
          className="button button-secondary"
          aria-pressed={snapshot.muted.microphone}
          disabled={snapshot.local.microphone === null}
          onClick={() => action.mutate(() => call.setMuted('microphone', !snapshot.muted.microphone))}
        >
          {snapshot.muted.microphone ? t('calls.call.unmute') : t('calls.call.mute')}
        </button>
        <button
          type="button"
          className="button button-secondary"
          aria-pressed={snapshot.muted.camera}
          disabled={snapshot.local.camera === null}
          onClick={() => action.mutate(() => call.setMuted('camera', !snapshot.muted.camera))}
        >
          {snapshot.muted.camera ? t('calls.call.cameraOn') : t('calls.call.cameraOff')}
        </button>
        <button
          type="button"
          className="button button-secondary"
          aria-pressed={snapshot.screen !== null}
          onClick={() =>
            action.mutate(async () => {
              if (snapshot.screen !== null) return call.stopScreenShare();
              const track = await pickScreen();
              if (track !== null) await call.startScreenShare(track);
            })
          }
        >
          {snapshot.screen !== null ? t('calls.call.stopSharing') : t('calls.call.shareScreen')}
        </button>
        <button
          type="button"
          className="button button-secondary"
          aria-pressed={handRaised}
          onClick={() => action.mutate(() => call.raiseHand(!handRaised))}
        >
          {handRaised ? t('calls.call.lowerHand') : t('calls.call.raiseHand')}
        </button>
        <button
          type="button"
          className="button button-secondary"
          aria-pressed={layout === 'speaker'}
          onClick={() => setLayout(layout === 'grid' ? 'speaker' : 'grid')}
        >
          {layout === 'grid' ? t('calls.call.speakerLayout') : t('calls.call.gridLayout')}
        </button>
        <button type="button" className="button button-danger" onClick={() => void call.leave()}>
          {t('calls.call.leave')}
        </button>
        {isHost && (
          <button
            type="button"
            className="button button-secondary"
            aria-pressed={snapshot.recording.active}
            aria-disabled={recording.isPending ? true : undefined}
            onClick={() => !recording.isPending && recording.mutate(!snapshot.recording.active)}
          >
            {snapshot.recording.active ? t('calls.recording.stop') : t('calls.recording.start')}
          </button>
        )}
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
      {isHost && <InviteLinkButton meetingId={meetingId} />}
      <ErrorNotice error={action.error ?? end.error ?? recording.error} />
      <PeoplePanel call={call} snapshot={snapshot} isHost={isHost} />
      <ChatPanel call={call} snapshot={snapshot} meetingId={meetingId} />
    </section>
  );
}

/** getDisplayMedia: the browser (or the desktop app's picker) asks which screen or window; null if the user cancels. */
async function pickScreen(): Promise<MediaStreamTrack | null> {
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: false });
    return stream.getVideoTracks()[0] ?? null;
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NotAllowedError') return null;
    throw error;
  }
}

interface Tile {
  key: string;
  peerId: string;
  kind: 'camera' | 'screen';
  self: boolean;
  name: string;
  /** Whose tile it is (their initials show when there is no video). */
  person: string;
  video: MediaStreamTrack | null;
  audio: MediaStreamTrack | null;
  muted: boolean;
  /** The remote video consumer shown here, for visibility reports. */
  consumerId: string | null;
  /** The worst health (0–10) of this person's streams as they reach us; null when unknown or ourselves. */
  quality: number | null;
}

/** A camera tile per person (self first) and a tile per screen share. */
function callTiles(snapshot: CallSnapshot, t: TFunction): Tile[] {
  const tiles: Tile[] = [];
  const remote = (peerId: string, source: MediaSource) =>
    snapshot.remote.find((r) => r.peerId === peerId && r.source === source);
  const shown = (peerId: string, source: 'camera' | 'screen') => {
    const track = remote(peerId, source);
    // Paused by its sender, or not forwarded (last-N): the tile shows initials instead.
    return track === undefined || track.paused || !snapshot.forwarding.includes(track.consumerId) ? null : track;
  };
  if (snapshot.self !== null) {
    tiles.push({
      key: `${snapshot.self.peerId}:camera`,
      peerId: snapshot.self.peerId,
      kind: 'camera',
      self: true,
      name: t('calls.call.you', { name: snapshot.self.displayName }),
      person: snapshot.self.displayName,
      video: snapshot.muted.camera ? null : snapshot.local.camera,
      audio: null,
      muted: snapshot.muted.microphone || snapshot.local.microphone === null,
      consumerId: null,
      quality: null,
    });
    if (snapshot.screen !== null) {
      tiles.push({
        key: `${snapshot.self.peerId}:screen`,
        peerId: snapshot.self.peerId,
        kind: 'screen',
        self: true,
        name: t('calls.call.yourScreen'),
        person: snapshot.self.displayName,
        video: snapshot.screen,
        audio: null,
        muted: false,
        consumerId: null,
        quality: null,
      });
    }
  }
  for (const peer of snapshot.peers) {
    const camera = shown(peer.peerId, 'camera');
    const microphone = remote(peer.peerId, 'microphone');
    tiles.push({
      key: `${peer.peerId}:camera`,
      peerId: peer.peerId,
      kind: 'camera',
      self: false,
      name: peer.displayName,
      person: peer.displayName,
      video: camera?.track ?? null,
      audio: microphone?.track ?? null,
      muted: microphone === undefined || microphone.paused,
      consumerId: remote(peer.peerId, 'camera')?.consumerId ?? null,
      quality: worstQuality(snapshot, peer.peerId),
    });
    const screen = remote(peer.peerId, 'screen');
    if (screen !== undefined) {
      tiles.push({
        key: `${peer.peerId}:screen`,
        peerId: peer.peerId,
        kind: 'screen',
        self: false,
        name: t('calls.call.theirScreen', { name: peer.displayName }),
        person: peer.displayName,
        video: shown(peer.peerId, 'screen')?.track ?? null,
        audio: null,
        muted: false,
        consumerId: screen.consumerId,
        quality: screen.quality,
      });
    }
  }
  return tiles;
}

/** The meeting's recordings: play in the page, or download (signed, short-lived URLs). */
function Recordings({ meetingId }: { meetingId: string }) {
  const { t, i18n } = useTranslation();
  const trpc = useTRPC();
  const api = useTRPCClient();
  const list = useQuery(trpc.calls.recording.list.queryOptions({ meetingId }));
  const [playing, setPlaying] = useState<{ id: string; url: string } | null>(null);
  const open = useMutation({
    mutationFn: async ({ id, download }: { id: string; download: boolean }) => {
      const { url } = await api.calls.recording.url.mutate({ recordingId: id, download });
      if (download) window.location.assign(url);
      else setPlaying({ id, url });
    },
  });
  const when = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' });
  if (list.data === undefined || list.data.length === 0) return null;
  return (
    <section className="card" aria-labelledby="recordings-heading">
      <h2 id="recordings-heading">{t('calls.recording.heading')}</h2>
      <ul className="item-list" aria-label={t('calls.recording.heading')}>
        {list.data.map((recording) => (
          <li key={recording.id} className="item">
            <span>
              {when.format(recording.startedAt)}
              {recording.durationMs !== null && (
                <span className="muted">
                  {' '}
                  · {t('calls.recording.duration', { seconds: Math.round(recording.durationMs / 1000) })}
                </span>
              )}
              {recording.status === 'recording' && (
                <span className="badge badge-recording">{t('calls.recording.indicator')}</span>
              )}
              {recording.status === 'failed' && (
                <span className="badge badge-muted">{t('calls.recording.failed')}</span>
              )}
            </span>
            {recording.status === 'ready' && (
              <span className="call-controls">
                <button
                  type="button"
                  className="button button-secondary"
                  onClick={() => open.mutate({ id: recording.id, download: false })}
                >
                  {t('calls.recording.play')}
                </button>
                <button
                  type="button"
                  className="button button-secondary"
                  onClick={() => open.mutate({ id: recording.id, download: true })}
                >
                  {t('calls.recording.download')}
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {playing !== null && (
        // A signed URL lasts minutes: if it lapses while seeking, ask for a new one.
        <video
          key={playing.id}
          className="call-video"
          src={playing.url}
          controls
          autoPlay
          aria-label={t('calls.recording.player')}
          onError={() => open.mutate({ id: playing.id, download: false })}
        />
      )}
      <ErrorNotice error={open.error ?? list.error} />
    </section>
  );
}

/** The worst known health of someone's streams (their upload or our download, whichever is worse). */
function worstQuality(snapshot: CallSnapshot, peerId: string): number | null {
  const known = snapshot.remote
    .filter((r) => r.peerId === peerId && !r.paused && r.quality !== null)
    .map((r) => r.quality!);
  return known.length === 0 ? null : Math.min(...known);
}

/**
 * One tile of a call: a person's camera or a screen share (or initials when
 * there is no video), their name, muted / hand-raised marks, a ring while
 * they speak, and a pin button. Remote audio plays from a hidden <audio>
 * element; its level drives the ring and is exposed as `data-audio-level`
 * (what the end-to-end tests read). Remote video tiles report whether they
 * are on screen and how big (`onView`), so the server forwards only what is
 * seen, at the simulcast layer that fits.
 */
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { initialsOf } from '../auth/initials.ts';
import { watchLevel } from './media.ts';

export interface TileView {
  visible: boolean;
  width: number;
  height: number;
}

export function ParticipantTile({
  name,
  person = name,
  self,
  speaking,
  handRaised = false,
  focused = false,
  pinned = false,
  video,
  audio,
  muted,
  quality = null,
  speaker = null,
  onPin,
  onView,
}: {
  name: string;
  /** Whose it is, for the initials (the name may say "(you)"). */
  person?: string;
  self: boolean;
  speaking: boolean;
  handRaised?: boolean;
  focused?: boolean;
  pinned?: boolean;
  video: MediaStreamTrack | null;
  audio: MediaStreamTrack | null;
  muted: boolean;
  /** Stream health 0–10 (mediasoup's scores); null = unknown. */
  quality?: number | null;
  /** The audio output device for this person's voice; null = the default. */
  speaker?: string | null;
  onPin?: (() => void) | undefined;
  onView?: ((view: TileView) => void) | undefined;
}) {
  const { t } = useTranslation();
  const tileRef = useRef<HTMLLIElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const audioRef = useRef<HTMLAudioElement>(null);
  const [level, setLevel] = useState(0);

  useEffect(() => {
    if (videoRef.current !== null) videoRef.current.srcObject = video === null ? null : new MediaStream([video]);
  }, [video]);
  useEffect(() => {
    if (audioRef.current !== null) audioRef.current.srcObject = audio === null ? null : new MediaStream([audio]);
    return audio === null ? undefined : watchLevel(audio, setLevel);
  }, [audio]);
  useEffect(() => {
    const element = audioRef.current;
    // setSinkId is missing in some engines; the default output is used then.
    if (element === null || speaker === null || typeof element.setSinkId !== 'function') return;
    element.setSinkId(speaker).catch(() => undefined);
  }, [speaker, audio]);

  // Visibility and size, reported at most every 500 ms and only when they change.
  useEffect(() => {
    const tile = tileRef.current;
    if (tile === null || onView === undefined) return;
    let visible = true;
    let last = '';
    let timer: ReturnType<typeof setTimeout> | null = null;
    const report = () => {
      timer = null;
      const ratio = window.devicePixelRatio || 1;
      const view = {
        visible,
        width: Math.round(tile.clientWidth * ratio),
        height: Math.round(tile.clientHeight * ratio),
      };
      const key = `${view.visible}:${view.width}:${view.height}`;
      if (key !== last) {
        last = key;
        onView(view);
      }
    };
    const schedule = () => {
      timer ??= setTimeout(report, 500);
    };
    const intersection = new IntersectionObserver(([entry]) => {
      visible = entry?.isIntersecting ?? true;
      schedule();
    });
    const resize = new ResizeObserver(schedule);
    intersection.observe(tile);
    resize.observe(tile);
    return () => {
      intersection.disconnect();
      resize.disconnect();
      if (timer !== null) clearTimeout(timer);
    };
    // onView identity changes every render; the tile reports through the latest one it was given at mount.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [onView === undefined]);

  const talking = speaking || level > 0.05;
  // mediasoup's 0–10: 8+ is fine, 5–7 shows as weak, below as poor (frozen or choppy).
  const qualityLevel = quality === null ? null : quality >= 8 ? 'good' : quality >= 5 ? 'weak' : 'poor';
  return (
    <li
      ref={tileRef}
      className={`call-tile${talking ? ' speaking' : ''}${focused ? ' focused' : ''}`}
      aria-label={name}
      data-audio-level={level.toFixed(3)}
      data-speaking={talking ? 'true' : 'false'}
      data-video={video === null ? 'off' : 'on'}
      data-quality={qualityLevel ?? 'unknown'}
    >
      {video !== null ? (
        <video ref={videoRef} className={`call-video${self ? ' mirrored' : ''}`} autoPlay playsInline muted />
      ) : (
        <div className="call-video-off" aria-hidden="true">
          {initialsOf(person)}
        </div>
      )}
      {audio !== null && <audio ref={audioRef} autoPlay />}
      <span className="call-tile-name">
        {name}
        {muted && <span className="badge badge-muted">{t('calls.call.muted')}</span>}
        {handRaised && <span className="badge badge-success">{t('calls.people.handRaised')}</span>}
        {qualityLevel !== null && qualityLevel !== 'good' && (
          <span className={`badge badge-quality-${qualityLevel}`}>{t(`calls.quality.${qualityLevel}`)}</span>
        )}
      </span>
      {onPin !== undefined && (
        <button
          type="button"
          className="call-tile-pin"
          aria-pressed={pinned}
          aria-label={pinned ? t('calls.call.unpin', { name }) : t('calls.call.pin', { name })}
          onClick={onPin}
        >
          {pinned ? t('calls.call.pinned') : t('calls.call.pinShort')}
        </button>
      )}
    </li>
  );
}

/**
 * One person in a call: their video (or their initials when it is off), their
 * name, a muted mark, and a ring while they speak. Remote audio plays from a
 * hidden <audio> element; its level drives the "speaking" ring and is exposed
 * as `data-audio-level` (also what the end-to-end tests read).
 */
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { initialsOf } from '../auth/initials.ts';
import { watchLevel } from './media.ts';

export function ParticipantTile({
  name,
  self,
  speaking,
  video,
  audio,
  muted,
}: {
  name: string;
  self: boolean;
  speaking: boolean;
  video: MediaStreamTrack | null;
  audio: MediaStreamTrack | null;
  muted: boolean;
}) {
  const { t } = useTranslation();
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

  const talking = speaking || level > 0.05;
  return (
    <li
      className={`call-tile${talking ? ' speaking' : ''}`}
      aria-label={name}
      data-audio-level={level.toFixed(3)}
      data-speaking={talking ? 'true' : 'false'}
    >
      {video !== null ? (
        <video ref={videoRef} className={`call-video${self ? ' mirrored' : ''}`} autoPlay playsInline muted />
      ) : (
        <div className="call-video-off" aria-hidden="true">
          {initialsOf(name)}
        </div>
      )}
      {audio !== null && <audio ref={audioRef} autoPlay />}
      <span className="call-tile-name">
        {name}
        {muted && <span className="badge badge-muted">{t('calls.call.muted')}</span>}
      </span>
    </li>
  );
}

/**
 * Local media for calls: the user's devices, tracks from the chosen ones,
 * and a sound level from any audio track (the lobby's meter, and the
 * speaking ring on remote tiles).
 */

export interface DeviceChoice {
  microphone: string | null;
  camera: string | null;
  speaker: string | null;
}

export interface MediaDevices {
  microphones: MediaDeviceInfo[];
  cameras: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

export async function listDevices(): Promise<MediaDevices> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    microphones: all.filter((d) => d.kind === 'audioinput'),
    cameras: all.filter((d) => d.kind === 'videoinput'),
    speakers: all.filter((d) => d.kind === 'audiooutput'),
  };
}

/** A track from the chosen device (or the default one); the caller stops it. */
export async function openTrack(kind: 'audio' | 'video', deviceId: string | null): Promise<MediaStreamTrack> {
  const constraints: MediaTrackConstraints =
    kind === 'video'
      ? { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } }
      : { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (deviceId !== null) constraints.deviceId = { exact: deviceId };
  const stream = await navigator.mediaDevices.getUserMedia(
    kind === 'video' ? { video: constraints } : { audio: constraints },
  );
  const [track] = kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks();
  if (track === undefined) throw new Error(`No ${kind} track`);
  return track;
}

/** What a failed getUserMedia means for the user. */
export function mediaErrorKind(error: unknown): 'denied' | 'not-found' | 'busy' | 'other' {
  const name = error instanceof DOMException ? error.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'not-found';
  if (name === 'NotReadableError' || name === 'AbortError') return 'busy';
  return 'other';
}

let sharedContext: AudioContext | null = null;

/**
 * Calls `onLevel` with the track's loudness (0–1, RMS) about 15 times a
 * second until the returned function is called.
 */
export function watchLevel(track: MediaStreamTrack, onLevel: (level: number) => void): () => void {
  sharedContext ??= new AudioContext();
  const context = sharedContext;
  void context.resume().catch(() => undefined);
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
  }, 66);
  return () => {
    clearInterval(timer);
    source.disconnect();
    analyser.disconnect();
  };
}

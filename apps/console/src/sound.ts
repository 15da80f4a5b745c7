/**
 * Short sound cues made with WebAudio (no audio files). Browsers only let a page make sound after
 * a user gesture, so `unlockSound()` is called from clicks (sign-in, the Available switch, ...).
 */
let ctx: AudioContext | undefined;

export function unlockSound(): void {
  try {
    ctx ??= new AudioContext();
    if (ctx.state === 'suspended') void ctx.resume();
  } catch {
    // No audio on this machine: the cues are visual too.
  }
}

export function soundReady(): boolean {
  return ctx?.state === 'running';
}

function tone(frequency: number, startIn: number, duration: number, volume = 0.2): void {
  if (!ctx || ctx.state !== 'running') return;
  const t = ctx.currentTime + startIn;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = 'sine';
  osc.frequency.value = frequency;
  gain.gain.setValueAtTime(0, t);
  gain.gain.linearRampToValueAtTime(volume, t + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.001, t + duration);
  osc.connect(gain).connect(ctx.destination);
  osc.start(t);
  osc.stop(t + duration + 0.05);
}

/** An incoming offer: two soft rising notes. */
export function offerCue(): void {
  tone(660, 0, 0.18);
  tone(880, 0.22, 0.25);
}

/** An escalation alert: three insistent notes. */
export function alertCue(): void {
  tone(880, 0, 0.16, 0.3);
  tone(660, 0.2, 0.16, 0.3);
  tone(880, 0.4, 0.3, 0.3);
}

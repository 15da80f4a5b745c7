import type { Call, Device } from '@twilio/voice-sdk';
import { ExpectedLegs, VOICE_LEG_GRACE_MS, VoiceLegAnnouncement, VoiceLegPurpose } from '@hotline/contract';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';

/**
 * The browser voice leg of a staff member's console: a Twilio Voice SDK `Device` registered as
 * `op-<staffId>` with a token from `GET /voice/token`. The gateway has Twilio ring it for an offer the
 * operator accepted, a colleague's warm transfer, a callback the operator placed, or a call a
 * supervisor listens to, coaches or joins; before each it says so on the console's own socket
 * (`voice:leg`). Which ringing leg to take is decided by one rule, `ExpectedLegs` (libs/contract
 * voice-legs.ts): a leg whose custom parameters name this staff member and a leg the console was
 * told of is answered; a leg for anyone else is refused at once; a leg not (yet) announced is held
 * for VOICE_LEG_GRACE_MS (the announcement may still be on its way), then refused.
 *
 * One call at a time: a ring while a leg is up is refused. An operator's and a supervisor's
 * consoles are separate views (a member has one role), so a supervisor's leg never meets an
 * operator's call in one console. The socket's `call:ended` drives the operator's UI; the leg of the
 * ended call is hung up here if Twilio has not ended it already.
 */
export type AudioState =
  'off' | 'checking' | 'not_configured' | 'connecting' | 'connected' | 'ringing' | 'on_call' | 'reconnecting' | 'unavailable';

export interface AudioView {
  state: AudioState;
  /** Why audio is unavailable: a fixed phrase, never the SDK's text (it may carry a number). */
  reason?: string;
  muted: boolean;
  /** What the leg ringing or up is for. */
  purpose?: VoiceLegPurpose;
}

/** Whether the console can take legs: registered, no audio at all (not configured), or not now. */
export type VoiceReadiness = 'ready' | 'not_configured' | 'unavailable';

const REFRESH_ATTEMPTS = 3;
/** How long registering may take before the console says the voice service cannot be reached. */
const REGISTER_MS = 15_000;

type TokenResult = { kind: 'ok'; token: string } | { kind: 'not_configured' } | { kind: 'failed' };

async function fetchVoiceToken(sessionToken: string): Promise<TokenResult> {
  try {
    const res = await fetch('/voice/token', { headers: { Accept: 'application/json', Authorization: `Bearer ${sessionToken}` } });
    if (res.status === 503 || res.status === 404) return { kind: 'not_configured' };
    if (!res.ok) return { kind: 'failed' };
    const body = (await res.json()) as { token?: unknown };
    return typeof body.token === 'string' && body.token ? { kind: 'ok', token: body.token } : { kind: 'failed' };
  } catch {
    return { kind: 'failed' };
  }
}

function reasonOf(e: unknown): string {
  const { code, name } = (e ?? {}) as { code?: unknown; name?: unknown };
  if (code === 31401 || code === 31402 || name === 'NotAllowedError' || name === 'NotFoundError')
    return 'no microphone: allow it for this page';
  if (
    code === 20101 ||
    code === 20104 ||
    code === 20151 ||
    code === 31201 ||
    code === 31202 ||
    code === 31203 ||
    code === 31204 ||
    code === 31205 ||
    code === 31207
  ) {
    return 'the voice service refused this console’s access';
  }
  if (code === 31003 || code === 31005 || code === 31009 || code === 53000 || code === 53001 || code === 53405 || code === 'timeout')
    return 'no connection to the voice service';
  return 'voice service error';
}

const quietly = (f: () => unknown) => {
  try {
    void Promise.resolve(f()).catch(() => undefined);
  } catch {
    // The SDK throws on calls in the wrong state (a call already gone, a device destroyed): nothing to do.
  }
};

export class VoiceLeg {
  private device?: Device;
  /** The one leg this console took (ringing until the SDK opens it), with what it is for. */
  private call?: Call;
  private leg?: { callId: string; purpose: VoiceLegPurpose };
  private base: AudioState = 'checking';
  private problem?: string;
  private muted = false;
  private destroyed = false;
  private started?: Promise<VoiceReadiness>;
  /** Rings held for their announcement: woken by each announcement. */
  private readonly held = new Set<() => void>();

  constructor(
    private readonly sessionToken: () => string,
    private readonly expected: ExpectedLegs,
    private readonly publish: (view: AudioView) => void,
    private readonly onLegEnded: () => void = () => undefined,
  ) {}

  /** Registers the device (once); resolves when it is registered, or says why legs cannot be taken. */
  start(): Promise<VoiceReadiness> {
    this.started ??= this.register();
    return this.started;
  }

  /** Whether the device could not be set up, and nothing rides on it: a fresh one may be tried. */
  get failed(): boolean {
    return !this.call && (this.base === 'not_configured' || this.problem !== undefined);
  }

  /** The gateway announced a leg (ExpectedLegs has it): rings held for their announcement look again. */
  announced(): void {
    for (const wake of [...this.held]) wake();
  }

  /** This console's part in `callId` is over: its leg, if still up, hangs up. */
  callOver(callId: string): void {
    const call = this.call;
    if (call && this.leg?.callId === callId) quietly(() => call.disconnect());
  }

  toggleMute(): void {
    const call = this.call;
    if (call) quietly(() => call.mute(!call.isMuted()));
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const device = this.device;
    this.device = undefined;
    this.call = undefined;
    this.announced();
    if (device) quietly(() => device.destroy());
  }

  private async register(): Promise<VoiceReadiness> {
    this.render();
    const first = await fetchVoiceToken(this.sessionToken());
    if (this.destroyed) return 'unavailable';
    if (first.kind === 'not_configured') {
      this.set('not_configured');
      return 'not_configured';
    }
    if (first.kind === 'failed') {
      this.fail('the voice service could not be reached');
      return 'unavailable';
    }
    try {
      const { Device } = await import('@twilio/voice-sdk');
      if (this.destroyed) return 'unavailable';
      // allowIncomingWhileBusy: a ring while a leg is up reaches the console, which refuses it at once (the
      // SDK would ignore it, and Twilio ring it out); no ringtone plays for it either way.
      const device = new Device(first.token, { logLevel: 'silent', closeProtection: false, allowIncomingWhileBusy: true });
      this.device = device;
      device.on('registering', () => this.set('connecting'));
      device.on('registered', () => {
        this.problem = undefined;
        this.set('connected');
      });
      device.on('unregistered', () => this.destroyed || this.fail('not registered for calls'));
      device.on('error', (e: unknown) => this.fail(reasonOf(e)));
      device.on('tokenWillExpire', () => void this.refresh());
      device.on('incoming', (call: Call) => void this.incoming(call));
      this.set('connecting');
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        device.register(),
        new Promise((_, reject) => (timer = setTimeout(() => reject({ code: 'timeout' }), REGISTER_MS))),
      ]).finally(() => clearTimeout(timer));
      return this.destroyed ? 'unavailable' : 'ready';
    } catch (e) {
      this.fail(reasonOf(e));
      return 'unavailable';
    }
  }

  /** Waits for the next announcement, at most `ms`. */
  private nextAnnouncement(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.held.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      this.held.add(wake);
    });
  }

  private async incoming(call: Call): Promise<void> {
    // One call at a time: a ring while a leg is up is refused at once.
    if (this.destroyed || this.call) return quietly(() => call.reject());
    let gone = false;
    const end = () => {
      gone = true;
      this.announced();
      if (this.call !== call) return;
      this.call = undefined;
      this.leg = undefined;
      this.muted = false;
      this.render();
      this.onLegEnded();
    };
    call.on('cancel', end);
    call.on('disconnect', end);
    call.on('reject', end);
    call.on('error', (e: unknown) => {
      if (this.call !== call) return;
      this.problem = reasonOf(e);
      this.render();
    });
    call.on('accept', () => {
      if (this.call !== call) return;
      this.problem = undefined;
      this.render();
    });
    call.on('reconnecting', () => this.call === call && this.render());
    call.on('reconnected', () => this.call === call && this.render());
    call.on('mute', (muted: boolean) => {
      if (this.call !== call) return;
      this.muted = muted;
      this.render();
    });
    // The rule (libs/contract ExpectedLegs): ours and announced, taken; someone else's, refused; not
    // announced (yet), held until its announcement comes or the grace has passed.
    const deadline = Date.now() + VOICE_LEG_GRACE_MS;
    let decision = this.expected.decide(call.customParameters);
    while (decision.decision === 'wait' && !gone && !this.destroyed && Date.now() < deadline) {
      await this.nextAnnouncement(deadline - Date.now());
      decision = this.expected.decide(call.customParameters);
    }
    if (gone) return;
    // Another leg may have been taken while this one waited: one at a time.
    if (decision.decision !== 'accept' || this.destroyed || this.call) return quietly(() => call.reject());
    this.call = call;
    this.leg = { callId: decision.leg.callId, purpose: decision.leg.purpose };
    this.render();
    quietly(() => call.accept());
  }

  private async refresh(): Promise<void> {
    for (let attempt = 0; attempt < REFRESH_ATTEMPTS; attempt++) {
      const next = await fetchVoiceToken(this.sessionToken());
      if (this.destroyed) return;
      if (next.kind === 'ok') {
        const device = this.device;
        if (device) quietly(() => device.updateToken(next.token));
        return;
      }
      if (next.kind === 'not_configured') break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    this.fail('the voice access could not be renewed');
  }

  private set(base: AudioState): void {
    this.base = base;
    this.render();
  }

  private fail(reason: string): void {
    this.problem = reason;
    this.render();
  }

  private render(): void {
    if (this.destroyed) return;
    const status = this.call ? String(this.call.status()) : undefined;
    let state: AudioState;
    if (this.call) state = status === 'open' ? 'on_call' : status === 'reconnecting' ? 'reconnecting' : 'ringing';
    else if (this.base === 'not_configured') state = 'not_configured';
    else if (this.problem) state = 'unavailable';
    else state = this.base;
    this.publish({
      state,
      reason: state === 'unavailable' ? this.problem : undefined,
      muted: this.muted,
      ...(this.call && this.leg ? { purpose: this.leg.purpose } : {}),
    });
  }
}

export interface Voice {
  view: AudioView;
  /** Registers the device if it is not (a supervisor's console, before listening); says whether legs can be taken. */
  start(): Promise<VoiceReadiness>;
  /** Destroys the device (its leg hangs up): a supervisor's console once they are off the call. */
  stop(): void;
  /** `voice:leg` from the console's socket. */
  announce(a: VoiceLegAnnouncement): void;
  /** The console's part in a call is over (`call:ended`, or a supervisor off the call): its legs are not taken, its leg hangs up. */
  callOver(callId: string): void;
  toggleMute(): void;
}

/**
 * The voice leg of a signed-in staff member. An operator's console registers at once (`onDemand`
 * false) and keeps the device until sign-out or the page goes; a supervisor's registers when they
 * listen, coach or join (`start`), and lets the device go when its leg ends or on `stop`. The
 * legs announced on the socket are kept whether a device is registered or not. The session token is
 * read when a voice token is fetched: a new session (an unlocked console) does not drop the leg.
 */
export function useVoice(session: { token: string; staffId: string }, opts: { onDemand?: boolean } = {}): Voice {
  const onDemand = opts.onDemand ?? false;
  const idle = useCallback((): AudioView => ({ state: onDemand ? 'off' : 'checking', muted: false }), [onDemand]);
  const [view, setView] = useState<AudioView>(idle);
  const token = useRef(session.token);
  token.current = session.token;
  const expected = useMemo(() => new ExpectedLegs(session.staffId), [session.staffId]);
  const leg = useRef<VoiceLeg | null>(null);

  const stop = useCallback(() => {
    const current = leg.current;
    leg.current = null;
    current?.destroy();
    setView(idle());
  }, [idle]);

  const start = useCallback((): Promise<VoiceReadiness> => {
    // A device that could not be set up is tried afresh (the voice service may be back).
    if (leg.current?.failed) stop();
    let current = leg.current;
    if (!current) {
      const made: VoiceLeg = new VoiceLeg(
        () => token.current,
        expected,
        (v) => leg.current === made && setView(v),
        () => {
          // A supervisor's device lives for one leg.
          if (onDemand && leg.current === made) stop();
        },
      );
      current = made;
      leg.current = made;
    }
    return current.start();
  }, [expected, onDemand, stop]);

  useEffect(() => {
    if (!onDemand) void start();
    const gone = () => stop();
    window.addEventListener('pagehide', gone);
    return () => {
      window.removeEventListener('pagehide', gone);
      stop();
    };
  }, [start, stop, onDemand]);

  const announce = useCallback(
    (a: VoiceLegAnnouncement) => {
      expected.announce(a);
      leg.current?.announced();
    },
    [expected],
  );
  const callOver = useCallback(
    (callId: string) => {
      expected.forgetCall(callId);
      leg.current?.callOver(callId);
    },
    [expected],
  );
  const toggleMute = useCallback(() => leg.current?.toggleMute(), []);
  return { view, start, stop, announce, callOver, toggleMute };
}

const LABEL: Record<AudioState, string> = {
  off: 'Audio: off (it turns on when you listen, coach or join)',
  checking: 'Audio: checking…',
  not_configured: 'Audio: not configured (calls connect by phone routing only)',
  connecting: 'Audio: connecting…',
  connected: 'Audio: connected',
  ringing: 'Audio: ringing',
  on_call: 'Audio: connected to the caller',
  reconnecting: 'Audio: reconnecting…',
  unavailable: 'Audio: unavailable',
};

const RINGING: Record<VoiceLegPurpose, string> = {
  offer: 'Audio: ringing (the call you accepted)',
  transfer: 'Audio: ringing (a colleague is transferring a call to you)',
  callback: 'Audio: ringing (your callback was answered)',
  supervision: 'Audio: ringing (the call you supervise)',
};

/** What the audio's state says; `who` words "not configured" for an operator or a supervisor. */
export function audioLabel(view: AudioView, who: 'operator' | 'supervisor' = 'operator'): string {
  if (view.state === 'unavailable') return `${LABEL.unavailable} (${view.reason ?? 'voice service error'})`;
  if (view.state === 'on_call' && view.muted) return `${LABEL.on_call} (muted)`;
  if (view.state === 'ringing' && view.purpose) return RINGING[view.purpose];
  if (view.state === 'not_configured' && who === 'supervisor') return 'Audio: not configured (you can supervise, but not hear the call)';
  return LABEL[view.state];
}

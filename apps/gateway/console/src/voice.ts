import type { Call, Device } from '@twilio/voice-sdk';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

/**
 * The operator's browser voice leg. When an operator accepts, the gateway has Twilio dial
 * `<Client>op-<operatorId></Client>`: this registers that client with a token from `GET /voice/token`
 * and picks up the dial for the call the operator accepted; any other ring is refused. The socket's
 * `call:ended` drives the UI, so the end of the audio needs no handling beyond resetting this status.
 */
export type AudioState =
  'checking' | 'not_configured' | 'connecting' | 'connected' | 'ringing' | 'on_call' | 'reconnecting' | 'unavailable';

export interface AudioView {
  state: AudioState;
  /** Why audio is unavailable: a fixed phrase, never the SDK's text (it may carry a number). */
  reason?: string;
  muted: boolean;
}

/** How long after `call:accept` succeeded a ring counts as the accepted call's. */
const EXPECT_MS = 30_000;
const REFRESH_ATTEMPTS = 3;

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
  if (code === 31003 || code === 31005 || code === 31009 || code === 53000 || code === 53001 || code === 53405)
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
  private call?: Call;
  private base: AudioState = 'checking';
  private problem?: string;
  private muted = false;
  private destroyed = false;
  private onCall = false;
  private expectUntil = 0;
  private accepting?: Promise<boolean>;

  constructor(
    private readonly sessionToken: string,
    private readonly publish: (view: AudioView) => void,
  ) {}

  async start(): Promise<void> {
    const first = await fetchVoiceToken(this.sessionToken);
    if (this.destroyed) return;
    if (first.kind === 'not_configured') return this.set('not_configured');
    if (first.kind === 'failed') return this.fail('the voice service could not be reached');
    try {
      const { Device } = await import('@twilio/voice-sdk');
      if (this.destroyed) return;
      const device = new Device(first.token, { logLevel: 'silent', closeProtection: false });
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
      await device.register();
    } catch (e) {
      this.fail(reasonOf(e));
    }
  }

  /** The console is on a call the operator accepted (until `call:ended`). */
  setOnCall(onCall: boolean): void {
    if (this.onCall && !onCall) this.expectUntil = 0;
    this.onCall = onCall;
  }

  /** The operator pressed Accept: a ring that arrives before the answer waits for it. */
  accept(outcome: Promise<boolean>): void {
    const pending = outcome.then(
      (ok) => {
        if (ok) this.expectUntil = Date.now() + EXPECT_MS;
        return ok;
      },
      () => false,
    );
    this.accepting = pending;
    void pending.finally(() => {
      if (this.accepting === pending) this.accepting = undefined;
    });
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
    if (device) quietly(() => device.destroy());
  }

  private wanted(): boolean {
    return this.onCall || Date.now() < this.expectUntil;
  }

  private async incoming(call: Call): Promise<void> {
    if (this.destroyed || this.call) return quietly(() => call.reject());
    let gone = false;
    const end = () => {
      gone = true;
      if (this.call !== call) return;
      this.call = undefined;
      this.muted = false;
      this.render();
    };
    call.on('cancel', end);
    call.on('disconnect', end);
    call.on('reject', end);
    call.on('error', (e: unknown) => {
      this.problem = reasonOf(e);
      this.render();
    });
    call.on('accept', () => {
      this.problem = undefined;
      this.render();
    });
    call.on('reconnecting', () => this.render());
    call.on('reconnected', () => this.render());
    call.on('mute', (muted: boolean) => {
      this.muted = muted;
      this.render();
    });
    let wanted = this.wanted();
    if (!wanted && this.accepting) wanted = (await this.accepting) && this.wanted();
    if (gone || this.destroyed) return;
    if (!wanted) return quietly(() => call.reject());
    this.call = call;
    this.render();
    quietly(() => call.accept());
  }

  private async refresh(): Promise<void> {
    for (let attempt = 0; attempt < REFRESH_ATTEMPTS; attempt++) {
      const next = await fetchVoiceToken(this.sessionToken);
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
    this.publish({ state, reason: state === 'unavailable' ? this.problem : undefined, muted: this.muted });
  }
}

/** The voice leg for a signed-in operator: built on mount, destroyed on sign-out and when the page goes away. */
export function useVoice(sessionToken: string) {
  const [view, setView] = useState<AudioView>({ state: 'checking', muted: false });
  const leg = useRef<VoiceLeg | null>(null);
  useEffect(() => {
    const current = new VoiceLeg(sessionToken, setView);
    leg.current = current;
    void current.start();
    const gone = () => current.destroy();
    window.addEventListener('pagehide', gone);
    return () => {
      window.removeEventListener('pagehide', gone);
      current.destroy();
      if (leg.current === current) leg.current = null;
    };
  }, [sessionToken]);
  const setOnCall = useCallback((onCall: boolean) => leg.current?.setOnCall(onCall), []);
  const accepting = useCallback((outcome: Promise<boolean>) => leg.current?.accept(outcome), []);
  const toggleMute = useCallback(() => leg.current?.toggleMute(), []);
  return { view, setOnCall, accepting, toggleMute };
}

const LABEL: Record<AudioState, string> = {
  checking: 'Audio: checking…',
  not_configured: 'Audio: not configured (calls connect by phone routing only)',
  connecting: 'Audio: connecting…',
  connected: 'Audio: connected',
  ringing: 'Audio: ringing',
  on_call: 'Audio: connected to the caller',
  reconnecting: 'Audio: reconnecting…',
  unavailable: 'Audio: unavailable',
};

export function audioLabel(view: AudioView): string {
  if (view.state === 'unavailable') return `${LABEL.unavailable} (${view.reason ?? 'voice service error'})`;
  if (view.state === 'on_call' && view.muted) return `${LABEL.on_call} (muted)`;
  return LABEL[view.state];
}

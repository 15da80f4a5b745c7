/**
 * Browser voice legs (issue 23): every leg the gateway has Twilio dial to a console's Voice SDK
 * `Device` carries custom parameters saying which call it belongs to, why it rings (an accepted
 * offer, a colleague's warm transfer, a callback the operator placed, a supervisor listening) and
 * for whom. Before dialling, the gateway announces the leg on the staff member's own socket
 * (`voice:leg`, with a one-time `leg` id that the leg repeats). A console accepts a leg only when
 * both agree: the parameters name its own staff id and a leg it was told to expect. Another
 * console cannot take the leg: it was never told of it, and the parameters name someone else.
 *
 * Twilio carries the parameters as `<Client><Parameter name value/></Client>` in TwiML and as the
 * query of a Participant's `To` (`client:op-…?callId=…&purpose=…`); the Voice SDK shows them as
 * `call.customParameters` (a Map).
 */
import { isId } from './ids';

export const VOICE_LEG_PURPOSES = ['offer', 'transfer', 'callback', 'supervision'] as const;
export type VoiceLegPurpose = (typeof VOICE_LEG_PURPOSES)[number];

/** The names of the custom parameters a leg carries. */
export const VOICE_LEG_PARAMS = ['callId', 'purpose', 'staffId', 'leg'] as const;

/** What the gateway tells a console before its leg rings (`voice:leg`). */
export interface VoiceLegAnnouncement {
  callId: string;
  purpose: VoiceLegPurpose;
  /** One-time id of this leg; the leg's own `leg` parameter repeats it. */
  leg: string;
}

/** What a leg says about itself (its custom parameters, read). */
export interface VoiceLegParameters extends VoiceLegAnnouncement {
  staffId: string;
}

/** The custom parameters of a leg to `staffId` (names as VOICE_LEG_PARAMS). */
export function voiceLegParameters(staffId: string, a: VoiceLegAnnouncement): Record<(typeof VOICE_LEG_PARAMS)[number], string> {
  return { callId: a.callId, purpose: a.purpose, staffId, leg: a.leg };
}

/** A leg's custom parameters (a Map from the SDK, or a plain object), or null when they are not a Hotline leg's. */
export function readVoiceLeg(params: ReadonlyMap<string, string> | Record<string, string> | null | undefined): VoiceLegParameters | null {
  if (!params) return null;
  const get = (k: string): string | undefined =>
    params instanceof Map ? params.get(k) : (params as Record<string, string>)[k as keyof typeof params];
  const callId = get('callId');
  const purpose = get('purpose');
  const staffId = get('staffId');
  const leg = get('leg');
  if (!callId || !isId(callId) || !staffId || !isId(staffId) || !leg || !isId(leg)) return null;
  if (!(VOICE_LEG_PURPOSES as readonly string[]).includes(purpose ?? '')) return null;
  return { callId, purpose: purpose as VoiceLegPurpose, staffId, leg };
}

export type LegDecision =
  | { decision: 'accept'; leg: VoiceLegParameters }
  /** Not told of this leg yet: the announcement may still be on its way (wait a little, then ask again). */
  | { decision: 'wait' }
  | { decision: 'reject'; reason: 'not_a_hotline_leg' | 'not_for_this_console' | 'not_expected' };

/** How long an announcement stays good: longer than any leg rings. */
export const VOICE_LEG_EXPECT_MS = 60_000;
/** How long a console holds a ringing leg it was not told of before refusing it. */
export const VOICE_LEG_GRACE_MS = 5_000;

/**
 * The legs one console was told to expect, and the one rule for taking a ringing leg. The console
 * page and the tests' stand-in consoles both use it, so both answer legs the same way.
 */
export class ExpectedLegs {
  private readonly expected = new Map<string, { callId: string; purpose: VoiceLegPurpose; until: number }>();

  constructor(
    private readonly staffId: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** The gateway said this leg is coming (`voice:leg`). */
  announce(a: VoiceLegAnnouncement): void {
    const at = this.now();
    for (const [k, v] of this.expected) if (v.until < at) this.expected.delete(k);
    this.expected.set(a.leg, { callId: a.callId, purpose: a.purpose, until: at + VOICE_LEG_EXPECT_MS });
  }

  /** The call is over for this console: none of its legs is taken any more. */
  forgetCall(callId: string): void {
    for (const [k, v] of this.expected) if (v.callId === callId) this.expected.delete(k);
  }

  /** Whether this console takes a ringing leg with these custom parameters. */
  decide(params: ReadonlyMap<string, string> | Record<string, string> | null | undefined): LegDecision {
    const leg = readVoiceLeg(params);
    if (!leg) return { decision: 'reject', reason: 'not_a_hotline_leg' };
    if (leg.staffId !== this.staffId) return { decision: 'reject', reason: 'not_for_this_console' };
    const e = this.expected.get(leg.leg);
    if (!e || e.until < this.now()) return { decision: 'wait' };
    if (e.callId !== leg.callId || e.purpose !== leg.purpose) return { decision: 'reject', reason: 'not_expected' };
    this.expected.delete(leg.leg);
    return { decision: 'accept', leg };
  }
}

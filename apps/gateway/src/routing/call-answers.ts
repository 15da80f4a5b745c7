import { Injectable } from '@nestjs/common';
import type { CallerHint } from '@hotline/contract';
import { shortPseudonym } from '@hotline/crypto/pseudonym';
import { Clock } from '@hotline/clock';
import { withTimeout } from '@hotline/observability';
import { ConferenceState, RoutingStore } from '@hotline/routing';
import { CallRecordsService } from '../calls/call-records.service';
import { GatewayRecords } from '../calls/gateway-records';
import { LiveEvents } from '../live/live-events';

const LOOKUP_MS = 800;
const REDIS_MS = 1000;

/**
 * The operator's browser leg answered: the record learns who answered first, and only then is the
 * console told it is connected (`call:connected`), so a note or risk level saved from that moment on
 * finds the call theirs. Twilio may report an answer twice (callbacks come concurrently and are
 * sometimes repeated): the console is told once per leg.
 */
@Injectable()
export class CallAnswers {
  constructor(
    private readonly store: RoutingStore,
    private readonly state: ConferenceState,
    private readonly live: LiveEvents,
    private readonly records: CallRecordsService,
    private readonly repos: GatewayRecords,
    private readonly clock: Clock,
  ) {}

  /**
   * The operator's leg answered. If routing agrees the call is theirs (the leg can answer before the
   * caller turns out to be gone, or an earlier leg answer late: then nobody answered), on record as
   * answered by them, then their console told (once per leg). True when the console was told now.
   */
  async answered(callId: string, operatorId: string, legSid: string | null): Promise<boolean> {
    let call = await withTimeout(this.store.call(callId), REDIS_MS).catch(() => null);
    // The leg often answers while the caller is still being moved: wait (briefly) for the outcome.
    for (let i = 0; i < 150 && call?.state === 'connecting' && call.operatorId === operatorId; i++) {
      await new Promise((r) => setTimeout(r, 20));
      call = await withTimeout(this.store.call(callId), REDIS_MS).catch(() => null);
    }
    if (call && (call.operatorId !== operatorId || call.state !== 'connected')) return false;
    await this.records.event({ kind: 'connected', callId, operatorId, at: this.clock.now().toISOString() });
    if (legSid && !(await withTimeout(this.state.firstAnswer(legSid), REDIS_MS).catch(() => true))) return false;
    const caller = await this.callerHint(call?.pseudonym ?? null, callId);
    this.live.toOperator(operatorId, 'status', { status: 'on_call' });
    this.live.toOperator(operatorId, 'call:connected', caller ? { callId, caller } : { callId });
    return true;
  }

  /**
   * The returning-caller hint: how many earlier calls this pseudonym made and the last risk level,
   * nothing more. Omitted for a withheld number, or when the records database does not answer.
   */
  async callerHint(pseudonym: string | null, callId: string): Promise<CallerHint | undefined> {
    if (!pseudonym) return undefined;
    try {
      return await withTimeout(
        (async () => {
          const history = await (await this.repos.callers()).history(pseudonym, callId);
          return { pseudonym: shortPseudonym(pseudonym), ...history };
        })(),
        LOOKUP_MS,
      );
    } catch {
      return undefined;
    }
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { CallLegs, CallRowMissing } from '@hotline/calls';
import { Clock, systemClock } from '@hotline/clock';
import { NotYet } from '@hotline/jobs';
import { TwilioService, isTwilioNotYetDeletable } from '@hotline/twilio';

const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

export type DeleteCallOutcome = { outcome: 'deleted' | 'already_gone' | 'done_before' | 'not_a_call'; legs: number };

/**
 * Deletes at Twilio a call that has just ended, with the legs it opened: a callback's outbound call
 * (its record at Twilio holds the number it dialled; its `<Dial>` to the operator's browser is a leg
 * of it), queued by the gateway's status webhook (`delete-call`, the CallSid only). The legs, found
 * at Twilio by their parent, are first kept with the call (`call_legs`, kind `callback`), so the
 * record names them until they are gone; the legs go before the call, which is how they are found.
 * Twilio refuses (409, 20009) until the call has been over for a while: the job is then put back
 * (NotYet, `TWILIO_DELETE_RETRY_MS` doubling), not failed. Done, the attempt says so
 * (`callback_attempts.call_deleted_at`), which is what the privacy reconciler reads to queue again
 * what is still owed. Safe to repeat: 404 counts as done.
 */
@Injectable()
export class DeleteCallProcessor {
  /** Property-injected (the system clock unless the app was given one), so tests move time instead of sleeping. */
  @Inject(Clock) private readonly clock: Clock = systemClock;

  constructor(
    private readonly legs: CallLegs,
    private readonly twilio: TwilioService,
  ) {}

  async process(callSid: string): Promise<DeleteCallOutcome> {
    if (!CALL_SID.test(callSid)) return { outcome: 'not_a_call', legs: 0 };
    const legs = this.legs;
    const outbound = await legs.outboundCall(callSid);
    if (outbound?.deletedAt) return { outcome: 'done_before', legs: 0 };
    const children = await this.twilio.childCallSids(callSid);
    if (outbound && children.length)
      await legs.recordAll(outbound.callId, children, 'callback', this.clock.now()).catch((e) => {
        // The call destroyed meanwhile (and its attempts with it): the legs are deleted here all the same.
        if (!(e instanceof CallRowMissing)) throw e;
      });
    let refused: unknown;
    const gone: string[] = [];
    for (const leg of children) {
      try {
        await this.twilio.deleteCall(leg);
        gone.push(leg);
      } catch (e) {
        if (!isTwilioNotYetDeletable(e)) throw e;
        refused ??= e;
      }
    }
    await legs.markLegsDeleted(gone, this.clock.now());
    // The call last: its legs are found through it.
    if (refused) throw notYet(refused);
    let outcome: 'deleted' | 'already_gone';
    try {
      outcome = await this.twilio.deleteCall(callSid);
    } catch (e) {
      throw isTwilioNotYetDeletable(e) ? notYet(e) : e;
    }
    await legs.markOutboundDeleted(callSid, this.clock.now());
    return { outcome, legs: children.length };
  }
}

function notYet(refusal: unknown): NotYet {
  return new NotYet('Twilio will not delete the call yet (20009)', { cause: refusal });
}

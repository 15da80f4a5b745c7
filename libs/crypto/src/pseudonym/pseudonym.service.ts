import { Inject, Injectable } from '@nestjs/common';
import { ENV, Env, pseudonymKey } from '@hotline/config';
import { callerPseudonym, normaliseE164 } from './pseudonym';

/** Turns a phone number into its keyed pseudonym at the edge; the number goes no further. */
@Injectable()
export class PseudonymService {
  private readonly key: Buffer;
  constructor(@Inject(ENV) env: Env) {
    this.key = pseudonymKey(env);
  }

  /** null for a withheld or malformed number. */
  of(rawNumber: string | undefined | null): string | null {
    const e164 = normaliseE164(rawNumber);
    return e164 ? callerPseudonym(this.key, e164) : null;
  }
}

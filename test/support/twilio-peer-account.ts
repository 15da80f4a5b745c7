/**
 * The account-level resources of the local Twilio peer (phone numbers, TwiML apps, API keys), the
 * part of Twilio's REST API that `npm run cli -- twilio:check` reads. Filled in by the twilio:check work.
 */
export type AccountReply = { status: number; body: unknown };

export class PeerAccount {
  constructor(
    readonly accountSid: string,
    readonly authToken: string,
  ) {}

  /** A reply when the request is for an account resource this class plays; null otherwise. */
  rest(_method: string, _path: string, _params: Record<string, string>, _query: URLSearchParams): AccountReply | null {
    return null;
  }
}

import twilio from 'twilio';

type Twilio = ReturnType<typeof twilio>;

/** The `twilio` package itself, for this library's own modules only (not exported from the index). */
export const twilioLibrary = twilio;

/**
 * Sends every REST request to `apiUrl` instead of Twilio's own hosts, keeping the path:
 * `https://api.twilio.com/2010-04-01/Accounts/AC.../Calls/CA....json` becomes
 * `<apiUrl>/2010-04-01/Accounts/AC.../Calls/CA....json`. This is how TWILIO_API_URL works
 * (tests and the demo point it at a local peer that speaks Twilio's REST API).
 */
export class RebasingRequestClient extends twilio.RequestClient {
  constructor(private readonly apiUrl: string) {
    super({ timeout: 10_000 });
  }

  request<TData>(opts: any): Promise<any> {
    const u = new URL(opts.uri);
    const base = new URL(this.apiUrl);
    const rebased = new URL(base.toString().replace(/\/$/, '') + u.pathname + u.search);
    // The peer sees the original Twilio host (api, messaging, ...) so it can route as Twilio does.
    return super.request<TData>({ ...opts, uri: rebased.toString(), headers: { ...(opts.headers ?? {}), 'X-Twilio-Host': u.host } });
  }
}

export interface TwilioSettings {
  accountSid: string;
  authToken: string;
  apiUrl?: string;
}

export function createTwilioClient(s: TwilioSettings): Twilio {
  return twilio(
    s.accountSid,
    s.authToken,
    s.apiUrl ? { httpClient: new RebasingRequestClient(s.apiUrl) as any, autoRetry: false } : { autoRetry: true, maxRetries: 3 },
  );
}

/**
 * The REST client for these settings, made on first use (an app without Twilio credentials starts,
 * and fails only the call that needs them). Shared by the Twilio port's classes.
 */
export function lazyRestClient(env: { TWILIO_ACCOUNT_SID?: string; TWILIO_AUTH_TOKEN?: string; TWILIO_API_URL?: string }): () => Twilio {
  let client: Twilio | undefined;
  return () => {
    if (!client) {
      if (!env.TWILIO_ACCOUNT_SID || !env.TWILIO_AUTH_TOKEN)
        throw new Error('TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required for Twilio REST calls');
      client = createTwilioClient({ accountSid: env.TWILIO_ACCOUNT_SID, authToken: env.TWILIO_AUTH_TOKEN, apiUrl: env.TWILIO_API_URL });
    }
    return client;
  };
}

/**
 * True when Twilio says the call is over: it answers 400 with code 21220 ("Call is not in-progress.
 * Cannot redirect.") to an update of a call that has ended, and 404 to one it no longer has.
 */
export function isTwilioCallEnded(e: unknown): boolean {
  const err = e as { status?: number; code?: number };
  return isTwilioNotFound(e) || err?.code === 21220;
}

/** True for Twilio's "not found" (the resource is already gone), which deletions count as done. */
export function isTwilioNotFound(e: unknown): boolean {
  const err = e as { status?: number; code?: number };
  return err?.status === 404 || err?.code === 20404;
}

export type { Twilio };

import twilio from 'twilio';

type Twilio = ReturnType<typeof twilio>;

/** The `twilio` package itself, for this library's own modules only (not exported from the index). */
export const twilioLibrary = twilio;

/**
 * How long one REST request to Twilio may take, and that it is never retried by the library: a
 * request made while Twilio waits for a webhook's answer must leave that answer time to go out
 * (docs/twilio.md "Twilio's limits: calls per second and webhook time"). Twilio's own client waits 30 s and, with autoRetry, retries 429s
 * three times; here a request that takes longer fails (no `status`), and a 429 is thrown at once as
 * {@link TwilioThrottled}, carrying Twilio's `Retry-After`, for the caller to decide (the outbound
 * pacer waits and tries once more; nothing else retries inside a webhook).
 */
export const TWILIO_REST_TIMEOUT_MS = 3000;

/** Twilio answered 429 Too Many Requests (over the account's calls per second, or its API concurrency). */
export class TwilioThrottled extends Error {
  readonly status = 429;
  constructor(
    readonly code: number | undefined,
    /** Twilio's `Retry-After`, in ms (1 s when it gave none). */
    readonly retryAfterMs: number,
  ) {
    super(`Twilio answered 429 Too Many Requests (retry after ${retryAfterMs} ms)`);
    this.name = 'TwilioThrottled';
  }
}

/** A REST request that took longer than {@link TWILIO_REST_TIMEOUT_MS}: Twilio may or may not have acted on it. */
export class TwilioTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(readonly ms: number) {
    super(`Twilio did not answer within ${ms} ms`);
    this.name = 'TwilioTimeout';
  }
}

/** `Retry-After` (seconds, or an HTTP date) in ms; 1 s when absent or unreadable. */
export function retryAfterMs(value: unknown, now = Date.now()): number {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v === 'string' || typeof v === 'number') {
    const s = String(v).trim();
    if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
    const at = Date.parse(s);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return 1000;
}

/**
 * Twilio's request client with Hotline's limits: {@link TWILIO_REST_TIMEOUT_MS} for the whole request
 * (the library's own timeout is the socket's idle time; a reply that trickles in is cut here too), no
 * automatic retry, and a 429 thrown as {@link TwilioThrottled}.
 */
export class BoundedRequestClient extends twilio.RequestClient {
  constructor(protected readonly timeoutMs = TWILIO_REST_TIMEOUT_MS) {
    super({ timeout: timeoutMs, autoRetry: false });
  }

  request<TData>(opts: any): Promise<any> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TwilioTimeout(this.timeoutMs)), this.timeoutMs + 100);
    });
    const sent = super.request<TData>({ ...opts, timeout: this.timeoutMs }).then(
      (res: { statusCode: number; body: unknown; headers?: Record<string, unknown> }) => {
        if (res.statusCode === 429) {
          const body = typeof res.body === 'string' ? safeJson(res.body) : (res.body as { code?: number } | null);
          throw new TwilioThrottled(body?.code, retryAfterMs(res.headers?.['retry-after']));
        }
        return res;
      },
      (e: unknown) => {
        // Axios's own timeout (the socket idle): the same error as the deadline's.
        if ((e as { code?: string }).code === 'ECONNABORTED' || (e as { code?: string }).code === 'ETIMEDOUT')
          throw new TwilioTimeout(this.timeoutMs);
        throw e;
      },
    );
    return Promise.race([sent, deadline]).finally(() => clearTimeout(timer));
  }
}

function safeJson(s: string): { code?: number } | null {
  try {
    return JSON.parse(s) as { code?: number };
  } catch {
    return null;
  }
}

/**
 * Sends every REST request to `apiUrl` instead of Twilio's own hosts, keeping the path:
 * `https://api.twilio.com/2010-04-01/Accounts/AC.../Calls/CA....json` becomes
 * `<apiUrl>/2010-04-01/Accounts/AC.../Calls/CA....json`. This is how TWILIO_API_URL works
 * (tests and the demo point it at a local peer that speaks Twilio's REST API). Same limits as at Twilio.
 */
export class RebasingRequestClient extends BoundedRequestClient {
  constructor(private readonly apiUrl: string) {
    super();
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

/** A REST client with Hotline's limits ({@link BoundedRequestClient}): 3 s a request, no automatic retry. */
export function createTwilioClient(s: TwilioSettings): Twilio {
  return twilio(s.accountSid, s.authToken, {
    httpClient: (s.apiUrl ? new RebasingRequestClient(s.apiUrl) : new BoundedRequestClient()) as any,
    autoRetry: false,
    timeout: TWILIO_REST_TIMEOUT_MS,
  });
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

/**
 * True when Twilio will not delete a call yet: 409 with code 20009 ("Cannot delete this resource
 * before it is complete"), for a call still in progress or one that completed only moments ago
 * (Twilio's docs: wait at least a minute after the end). Not a failure: the deletion is tried again
 * later, with backoff.
 */
export function isTwilioNotYetDeletable(e: unknown): boolean {
  const err = e as { status?: number; code?: number };
  return err?.code === 20009 || err?.status === 409;
}

export type { Twilio };

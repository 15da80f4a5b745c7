import { randomBytes } from 'crypto';
import { AddressInfo } from 'net';
import { IncomingMessage, Server, ServerResponse, createServer } from 'http';
import twilio from 'twilio';
import { PeerAccount } from './twilio-peer-account';
import { PeerConferences } from './twilio-peer-conferences';

/**
 * A local HTTP peer that speaks the part of Twilio's REST API that Hotline uses, and remembers
 * what it was asked. Tests (and the demo) point TWILIO_API_URL at it.
 *
 *   POST   /2010-04-01/Accounts/{AC}/Calls/{CA}.json         calls(sid).update({ twiml })
 *   GET    /2010-04-01/Accounts/{AC}/Calls.json?ParentCallSid= calls.list({ parentCallSid })
 *   DELETE /2010-04-01/Accounts/{AC}/Calls/{CA}.json         calls(sid).remove()
 *   GET    /2010-04-01/Accounts/{AC}/Calls/{CA}.json         calls(sid).fetch() (From, status: in-progress while live)
 *   POST   /2010-04-01/Accounts/{AC}/Calls.json              calls.create({ to, from, url, statusCallback }) (outbound)
 *   DELETE /2010-04-01/Accounts/{AC}/Recordings/{RE}.json    recordings(sid).remove()
 *   POST   /2010-04-01/Accounts/{AC}/Messages.json           messages.create({ to, from, body })
 *   DELETE /2010-04-01/Accounts/{AC}/Messages/{SM}.json      messages(sid).remove()
 *
 * and Conferences (see ./twilio-peer-conferences.ts): `<Dial><Conference>` in a call update joins
 * the call to the conference of that name (created on first join), and
 *   POST   /Conferences/{CF or name}/Participants.json         participants.create (dials a leg)
 *   GET    /Conferences/{CF}/Participants.json                 participants.list
 *   POST   /Conferences/{CF}/Participants/{CA}.json            participant update (Hold, HoldUrl, Muted, Coaching, CallSidToCoach)
 *   DELETE /Conferences/{CF}/Participants/{CA}.json            participant remove
 *   GET    /Conferences.json?FriendlyName=&Status=             conferences.list
 *   POST   /Conferences/{CF}.json  Status=completed            conference ends
 * with status callbacks signed as Twilio signs them.
 */
export interface PeerRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  at: number;
}

export interface PeerMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  deleted: boolean;
}

export class TwilioPeer {
  readonly requests: PeerRequest[] = [];
  readonly callUpdates: { callSid: string; params: Record<string, string> }[] = [];
  readonly deletedRecordings: string[] = [];
  /** Call SIDs deleted (DELETE answered 204), in order. */
  readonly deletedCalls: string[] = [];
  /**
   * The legs Twilio opened for a call: a `<Dial>` in a call update opens one (the operator's
   * browser leg, with a SID of its own), as Twilio does. Child SID to parent SID.
   */
  readonly childCalls = new Map<string, string>();
  /** Call SIDs still in progress: Twilio refuses to delete them (400). */
  readonly liveCalls = new Set<string>();
  /**
   * Call resources as Twilio keeps them (caller ID, number called, parent): a test registers the
   * calls it places (`registerCall`), a `<Dial>` adds the leg it opens (with the parent's caller ID,
   * as Twilio does), a DELETE removes the resource.
   */
  readonly callRecords = new Map<string, { sid: string; from: string; to: string; parentCallSid: string | null }>();
  readonly messages: PeerMessage[] = [];
  /** Call SIDs whose call is over (GET answers status completed). */
  readonly endedCalls = new Set<string>();
  /** Call SIDs Twilio should answer 404 for (the call is gone). */
  readonly goneCalls = new Set<string>();
  /** Recording SIDs Twilio should answer 404 for (already deleted). */
  readonly goneRecordings = new Set<string>();
  /** When set, every request fails with this status (Twilio down). */
  failAll?: number;
  /** Outbound calls placed (calls.create), in order, with the SID Twilio gave each. */
  readonly placedCalls: { sid: string; to: string; from: string; url: string; statusCallback: string }[] = [];
  /** Called on each call update (the demo uses it to play the operator's leg). */
  onCallUpdate?: (callSid: string, params: Record<string, string>) => void;
  /** Conferences, participants and the callbacks they send (signed, in order). */
  readonly conferences: PeerConferences;
  /** Phone numbers, TwiML apps and API keys (what `twilio:check` reads). */
  readonly account: PeerAccount;
  private server?: Server;

  constructor(
    readonly accountSid: string,
    readonly authToken: string,
  ) {
    this.conferences = new PeerConferences(accountSid, authToken);
    this.account = new PeerAccount(accountSid, authToken);
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res).catch(() => this.json(res, 500, { message: 'peer error' })));
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections?.();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  /** A call Twilio holds a record of (one the test placed through the webhooks), from `from` to `to`. */
  registerCall(sid: string, from: string, to: string): void {
    this.callRecords.set(sid, { sid, from, to, parentCallSid: null });
  }

  /** The legs Twilio opened (by `<Dial>`) for this call. */
  legsOf(parentCallSid: string): string[] {
    return [...this.childCalls].filter(([, p]) => p === parentCallSid).map(([leg]) => leg);
  }

  /** The messages sent to one number, newest last. */
  messagesTo(to: string): PeerMessage[] {
    return this.messages.filter((m) => m.to === to);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://peer');
    const params = Object.fromEntries(new URLSearchParams(body));
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, params, at: Date.now() });
    const expected = 'Basic ' + Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64');
    if (req.headers.authorization !== expected && !this.account.authenticates(req.headers.authorization))
      return this.json(res, 401, { code: 20003, message: 'Authenticate', status: 401 });
    if (this.failAll) return this.json(res, this.failAll, { code: 20500, message: 'Internal Server Error', status: this.failAll });
    const acct = this.account.rest(req.method ?? 'GET', url.pathname, params, url.searchParams);
    if (acct) return this.json(res, acct.status, acct.body);
    const conf = url.pathname.match(
      /^\/2010-04-01\/Accounts\/(AC\w+)\/Conferences(?:\/([^/]+?))?(?:\/(Participants)(?:\/([^/]+?))?)?\.json$/,
    );
    if (conf && conf[1] === this.accountSid) {
      const multi = new URLSearchParams(body);
      const r = this.conferences.rest(
        req.method ?? 'GET',
        conf[2] ? decodeURIComponent(conf[2]) : null,
        !!conf[3],
        conf[4] ? decodeURIComponent(conf[4]) : null,
        params,
        multi,
        url.searchParams,
      );
      if (r.status === 204) {
        res.statusCode = 204;
        return void res.end();
      }
      return this.json(res, r.status, r.body);
    }
    const m = url.pathname.match(/^\/2010-04-01\/Accounts\/(AC\w+)\/(\w+)(?:\/(\w+))?\.json$/);
    if (!m || m[1] !== this.accountSid) return this.json(res, 404, { code: 20404, message: 'not found', status: 404 });
    const [, account, resource, sid] = m;
    if (resource === 'Calls' && sid && req.method === 'POST') {
      if (this.goneCalls.has(sid))
        return this.json(res, 404, { code: 20404, message: `The requested resource ${url.pathname} was not found`, status: 404 });
      this.callUpdates.push({ callSid: sid, params });
      // A call given new TwiML (or hung up) leaves the conference it was in, as at Twilio.
      this.conferences.callChanged(sid, params);
      if (/<Dial[\s>]/.test(params.Twiml ?? '') && /<Client\b/.test(params.Twiml ?? '')) {
        const leg = randomSid('CA');
        this.childCalls.set(leg, sid);
        const client = /<Client\b[^>]*>([^<]*)<\/Client>/.exec(params.Twiml)?.[1] ?? '';
        const parent = this.callRecords.get(sid);
        if (parent) this.callRecords.set(leg, { sid: leg, from: parent.from, to: `client:${client}`, parentCallSid: sid });
      }
      setImmediate(() => this.onCallUpdate?.(sid, params));
      return this.json(res, 200, { sid, account_sid: account, status: 'in-progress' });
    }
    if (resource === 'Calls' && sid && req.method === 'GET') {
      const c = this.callRecords.get(sid);
      if (!c || this.goneCalls.has(sid)) return this.json(res, 404, { code: 20404, message: 'not found', status: 404 });
      return this.json(res, 200, {
        sid,
        account_sid: account,
        from: c.from,
        to: c.to,
        parent_call_sid: c.parentCallSid,
        status: this.endedCalls.has(sid) ? 'completed' : 'in-progress',
      });
    }
    if (resource === 'Calls' && !sid && req.method === 'POST') {
      const placed = { sid: randomSid('CA'), to: params.To, from: params.From, url: params.Url, statusCallback: params.StatusCallback };
      this.placedCalls.push(placed);
      this.callRecords.set(placed.sid, { sid: placed.sid, from: placed.from, to: placed.to, parentCallSid: null });
      return this.json(res, 201, { sid: placed.sid, account_sid: account, to: placed.to, from: placed.from, status: 'queued' });
    }
    if (resource === 'Calls' && !sid && req.method === 'GET') {
      const parent = url.searchParams.get('ParentCallSid');
      const legs = [...this.childCalls].filter(
        ([child, p]) => (!parent || p === parent) && !this.goneCalls.has(child) && !this.goneCalls.has(p),
      );
      return this.json(res, 200, {
        calls: legs.map(([child, p]) => ({ sid: child, parent_call_sid: p, account_sid: account, status: 'completed' })),
        first_page_uri: url.pathname,
        next_page_uri: null,
        previous_page_uri: null,
        page: 0,
        page_size: 100,
        start: 0,
        end: Math.max(0, legs.length - 1),
        uri: url.pathname,
      });
    }
    if (resource === 'Calls' && sid && req.method === 'DELETE') {
      if (this.goneCalls.has(sid)) return this.json(res, 404, { code: 20404, message: 'not found', status: 404 });
      if (this.liveCalls.has(sid)) return this.json(res, 400, { code: 20009, message: 'Cannot delete call in progress', status: 400 });
      this.deletedCalls.push(sid);
      this.goneCalls.add(sid);
      this.callRecords.delete(sid);
      res.statusCode = 204;
      return void res.end();
    }
    if (resource === 'Recordings' && sid && req.method === 'DELETE') {
      if (this.goneRecordings.has(sid)) return this.json(res, 404, { code: 20404, message: 'not found', status: 404 });
      this.deletedRecordings.push(sid);
      this.goneRecordings.add(sid);
      res.statusCode = 204;
      return void res.end();
    }
    if (resource === 'Messages' && !sid && req.method === 'POST') {
      const msg: PeerMessage = {
        sid: 'SM' + randomBytes(16).toString('hex'),
        to: params.To,
        from: params.From,
        body: params.Body,
        deleted: false,
      };
      this.messages.push(msg);
      return this.json(res, 201, { sid: msg.sid, account_sid: account, to: msg.to, from: msg.from, body: msg.body, status: 'queued' });
    }
    if (resource === 'Messages' && sid && req.method === 'DELETE') {
      const msg = this.messages.find((x) => x.sid === sid && !x.deleted);
      if (!msg) return this.json(res, 404, { code: 20404, message: 'not found', status: 404 });
      msg.deleted = true;
      res.statusCode = 204;
      return void res.end();
    }
    return this.json(res, 404, { code: 20404, message: 'not found', status: 404 });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A webhook POST signed exactly as Twilio signs it (twilio's own helper computes the signature). */
export function signTwilioRequest(authToken: string, fullUrl: string, params: Record<string, string>): string {
  return twilio.getExpectedTwilioSignature(authToken, fullUrl, params);
}

export function randomSid(prefix: 'CA' | 'RE' | 'SM'): string {
  return prefix + randomBytes(16).toString('hex');
}

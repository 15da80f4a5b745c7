import { randomBytes } from 'crypto';

/**
 * The account-level resources of the local Twilio peer (the account itself, its phone numbers, TwiML
 * apps and API keys), the part of Twilio's REST API that `npm run cli -- twilio:check` reads:
 *
 *   GET /2010-04-01/Accounts/{AC}.json                          accounts(sid).fetch()
 *   GET /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers.json     incomingPhoneNumbers.list() (paged; PhoneNumber, FriendlyName filters)
 *   GET /2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/{PN}.json
 *   GET /2010-04-01/Accounts/{AC}/Applications.json, /Applications/{AP}.json
 *   GET /2010-04-01/Accounts/{AC}/Keys.json, /Keys/{SK}.json    (a key's secret is never returned, as at Twilio)
 *
 * The JSON is Twilio's (snake_case, every field of the resource as test/fixtures/twilio-oai describes
 * it; dates in RFC 2822; unset URLs null; lists paged with `first_page_uri`, `next_page_uri`, `page`,
 * `page_size`, `start`, `end`, `uri`). A number's friendly name defaults to the number formatted as
 * Twilio formats it ("(555) 000-1234"), so a check that printed friendly names would print numbers.
 *
 * As at Twilio, an API key's SID and secret authenticate REST requests too (`authenticates`), and so
 * does the secondary auth token while there is one.
 */
export type AccountReply = { status: number; body: unknown };

export interface PeerNumber {
  sid: string;
  phoneNumber: string;
  friendlyName: string;
  voiceUrl: string | null;
  voiceMethod: 'GET' | 'POST';
  voiceFallbackUrl: string | null;
  statusCallback: string | null;
  statusCallbackMethod: 'GET' | 'POST';
  smsUrl: string | null;
  smsMethod: 'GET' | 'POST';
  /** A TwiML app whose URLs Twilio uses for this number's calls instead of its own ("" when none, as Twilio answers). */
  voiceApplicationSid: string;
  /** A SIP trunk that takes this number's calls (null when none). */
  trunkSid: string | null;
  capabilities: { voice: boolean; sms: boolean; mms: boolean; fax: boolean };
  dateCreated: Date;
  dateUpdated: Date;
}

export interface PeerApplication {
  sid: string;
  friendlyName: string;
  voiceUrl: string | null;
  voiceMethod: 'GET' | 'POST';
  statusCallback: string | null;
  statusCallbackMethod: 'GET' | 'POST';
  smsUrl: string | null;
  dateCreated: Date;
  dateUpdated: Date;
}

export interface PeerKey {
  sid: string;
  secret: string;
  friendlyName: string;
  dateCreated: Date;
  dateUpdated: Date;
}

const API = '/2010-04-01';
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 1000;

export class PeerAccount {
  /** Twilio's account status and type (a trial account plays a notice to callers). */
  status: 'active' | 'suspended' | 'closed' = 'active';
  type: 'Trial' | 'Full' = 'Full';
  friendlyName = 'Hotline test account';
  /** While set, REST requests authenticated with it are accepted too (Twilio's auth token rotation). */
  secondaryAuthToken?: string;
  /** In the order they were bought (Twilio lists them so). */
  readonly numbers: PeerNumber[] = [];
  readonly applications = new Map<string, PeerApplication>();
  readonly keys = new Map<string, PeerKey>();
  private readonly created = new Date();

  constructor(
    readonly accountSid: string,
    readonly authToken: string,
  ) {}

  /** A number of the account (voice and SMS capable unless told), configured as given. */
  addNumber(n: {
    phoneNumber: string;
    voiceUrl?: string | null;
    voiceMethod?: 'GET' | 'POST';
    statusCallback?: string | null;
    statusCallbackMethod?: 'GET' | 'POST';
    smsUrl?: string | null;
    friendlyName?: string;
    voiceApplicationSid?: string;
    trunkSid?: string | null;
    capabilities?: Partial<PeerNumber['capabilities']>;
  }): PeerNumber {
    if (this.number(n.phoneNumber)) throw new Error('the peer account already has that number');
    const now = new Date();
    const number: PeerNumber = {
      sid: sid('PN'),
      phoneNumber: n.phoneNumber,
      friendlyName: n.friendlyName ?? formatNumber(n.phoneNumber),
      voiceUrl: n.voiceUrl ?? null,
      voiceMethod: n.voiceMethod ?? 'POST',
      voiceFallbackUrl: null,
      statusCallback: n.statusCallback ?? null,
      statusCallbackMethod: n.statusCallbackMethod ?? 'POST',
      smsUrl: n.smsUrl ?? null,
      smsMethod: 'POST',
      voiceApplicationSid: n.voiceApplicationSid ?? '',
      trunkSid: n.trunkSid ?? null,
      capabilities: { voice: true, sms: true, mms: true, fax: false, ...n.capabilities },
      dateCreated: now,
      dateUpdated: now,
    };
    this.numbers.push(number);
    return number;
  }

  /** The number (to change it as a test would in Twilio's console: `peer.account.number(x)!.voiceUrl = ...`). */
  number(phoneNumber: string): PeerNumber | undefined {
    return this.numbers.find((n) => n.phoneNumber === phoneNumber);
  }

  removeNumber(phoneNumber: string): void {
    const i = this.numbers.findIndex((n) => n.phoneNumber === phoneNumber);
    if (i >= 0) this.numbers.splice(i, 1);
  }

  /** A TwiML app (a browser's Voice access token names one); its voice URL is empty unless given. */
  addApplication(
    a: { friendlyName?: string; voiceUrl?: string | null; statusCallback?: string | null; sid?: string } = {},
  ): PeerApplication {
    const now = new Date();
    const app: PeerApplication = {
      sid: a.sid ?? sid('AP'),
      friendlyName: a.friendlyName ?? 'Hotline console',
      voiceUrl: a.voiceUrl ?? null,
      voiceMethod: 'POST',
      statusCallback: a.statusCallback ?? null,
      statusCallbackMethod: 'POST',
      smsUrl: null,
      dateCreated: now,
      dateUpdated: now,
    };
    this.applications.set(app.sid, app);
    return app;
  }

  /** A Standard API key; its secret is known here only (Twilio shows it once, when the key is made). */
  addKey(k: { friendlyName?: string } = {}): PeerKey {
    const now = new Date();
    const key: PeerKey = {
      sid: sid('SK'),
      secret: randomBytes(16).toString('hex'),
      friendlyName: k.friendlyName ?? 'hotline-console',
      dateCreated: now,
      dateUpdated: now,
    };
    this.keys.set(key.sid, key);
    return key;
  }

  /** Everything back to an empty, active, full account. */
  reset(): void {
    this.numbers.length = 0;
    this.applications.clear();
    this.keys.clear();
    this.status = 'active';
    this.type = 'Full';
    this.secondaryAuthToken = undefined;
  }

  /**
   * Whether this Authorization header authenticates to the account other than with its primary auth
   * token (which the peer checks itself): an API key's SID and secret, or the secondary auth token.
   */
  authenticates(authorization: string | undefined): boolean {
    const m = /^Basic (.+)$/.exec(authorization ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const [user, pass] = [decoded.slice(0, i), decoded.slice(i + 1)];
    if (this.secondaryAuthToken && user === this.accountSid && pass === this.secondaryAuthToken) return true;
    const key = this.keys.get(user);
    return !!key && key.secret === pass;
  }

  /** A reply when the request is for an account resource this class plays; null otherwise. */
  rest(method: string, path: string, _params: Record<string, string>, query: URLSearchParams): AccountReply | null {
    const m = /^\/2010-04-01\/Accounts\/(AC\w+)(?:\/(IncomingPhoneNumbers|Applications|Keys)(?:\/(\w+))?)?\.json$/.exec(path);
    if (!m || m[1] !== this.accountSid) return null;
    const [, , resource, id] = m;
    if (method !== 'GET') return null;
    if (!resource) return { status: 200, body: this.accountJson() };
    const base = `${API}/Accounts/${this.accountSid}/${resource}`;
    if (resource === 'IncomingPhoneNumbers') {
      if (id) {
        const n = this.numbers.find((x) => x.sid === id);
        return n ? { status: 200, body: this.numberJson(n) } : notFound(path);
      }
      const phone = query.get('PhoneNumber');
      const name = query.get('FriendlyName');
      // Twilio matches PhoneNumber on any part of the number, and FriendlyName exactly.
      const list = this.numbers.filter(
        (n) => (!phone || n.phoneNumber.includes(phone.replace(/[^\d+]/g, ''))) && (!name || n.friendlyName === name),
      );
      return paged('incoming_phone_numbers', base, query, list, (n) => this.numberJson(n));
    }
    if (resource === 'Applications') {
      if (id) {
        const a = this.applications.get(id);
        return a ? { status: 200, body: this.applicationJson(a) } : notFound(path);
      }
      const name = query.get('FriendlyName');
      const list = [...this.applications.values()].filter((a) => !name || a.friendlyName === name);
      return paged('applications', base, query, list, (a) => this.applicationJson(a));
    }
    if (id) {
      const k = this.keys.get(id);
      return k ? { status: 200, body: keyJson(k) } : notFound(path);
    }
    return paged('keys', base, query, [...this.keys.values()], keyJson);
  }

  private accountJson(): Record<string, unknown> {
    const uri = `${API}/Accounts/${this.accountSid}`;
    const sub = (name: string) => `${uri}/${name}.json`;
    return {
      auth_token: this.authToken,
      date_created: rfc2822(this.created),
      date_updated: rfc2822(this.created),
      friendly_name: this.friendlyName,
      owner_account_sid: this.accountSid,
      sid: this.accountSid,
      status: this.status,
      subresource_uris: {
        applications: sub('Applications'),
        calls: sub('Calls'),
        conferences: sub('Conferences'),
        incoming_phone_numbers: sub('IncomingPhoneNumbers'),
        keys: sub('Keys'),
        messages: sub('Messages'),
        recordings: sub('Recordings'),
      },
      type: this.type,
      uri: `${uri}.json`,
    };
  }

  private numberJson(n: PeerNumber): Record<string, unknown> {
    return {
      account_sid: this.accountSid,
      address_sid: null,
      address_requirements: 'none',
      api_version: '2010-04-01',
      beta: false,
      capabilities: { ...n.capabilities },
      date_created: rfc2822(n.dateCreated),
      date_updated: rfc2822(n.dateUpdated),
      friendly_name: n.friendlyName,
      identity_sid: null,
      phone_number: n.phoneNumber,
      origin: 'twilio',
      sid: n.sid,
      sms_application_sid: '',
      sms_fallback_method: 'POST',
      sms_fallback_url: null,
      sms_method: n.smsMethod,
      sms_url: n.smsUrl,
      status_callback: n.statusCallback,
      status_callback_method: n.statusCallbackMethod,
      trunk_sid: n.trunkSid,
      uri: `${API}/Accounts/${this.accountSid}/IncomingPhoneNumbers/${n.sid}.json`,
      voice_receive_mode: 'voice',
      voice_application_sid: n.voiceApplicationSid,
      voice_caller_id_lookup: false,
      voice_fallback_method: 'POST',
      voice_fallback_url: n.voiceFallbackUrl,
      voice_method: n.voiceMethod,
      voice_url: n.voiceUrl,
      emergency_status: 'Inactive',
      emergency_address_sid: null,
      emergency_address_status: 'unregistered',
      bundle_sid: null,
      status: 'in-use',
    };
  }

  private applicationJson(a: PeerApplication): Record<string, unknown> {
    return {
      account_sid: this.accountSid,
      api_version: '2010-04-01',
      date_created: rfc2822(a.dateCreated),
      date_updated: rfc2822(a.dateUpdated),
      friendly_name: a.friendlyName,
      message_status_callback: null,
      sid: a.sid,
      sms_fallback_method: 'POST',
      sms_fallback_url: null,
      sms_method: 'POST',
      sms_status_callback: null,
      sms_url: a.smsUrl,
      status_callback: a.statusCallback,
      status_callback_method: a.statusCallbackMethod,
      uri: `${API}/Accounts/${this.accountSid}/Applications/${a.sid}.json`,
      voice_caller_id_lookup: false,
      voice_fallback_method: 'POST',
      voice_fallback_url: null,
      voice_method: a.voiceMethod,
      voice_url: a.voiceUrl,
      public_application_connect_enabled: false,
    };
  }
}

function keyJson(k: PeerKey): Record<string, unknown> {
  return { sid: k.sid, friendly_name: k.friendlyName, date_created: rfc2822(k.dateCreated), date_updated: rfc2822(k.dateUpdated) };
}

/**
 * One page of a 2010-04-01 list, as Twilio pages: `PageSize` (default 50, at most 1000) and `Page`
 * (from 0), with `PageToken` on every page after the first (taken as given: the peer's lists do not
 * change under a reader). `next_page_uri` is null on the last page.
 */
function paged<T>(key: string, base: string, query: URLSearchParams, all: T[], json: (t: T) => unknown): AccountReply {
  const size = Math.min(Math.max(Number(query.get('PageSize')) || DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE);
  const page = Math.max(Number(query.get('Page')) || 0, 0);
  const start = page * size;
  const items = all.slice(start, start + size);
  const filters = new URLSearchParams([...query].filter(([k]) => !['PageSize', 'Page', 'PageToken'].includes(k)));
  const uri = (p: number) => {
    const q = new URLSearchParams(filters);
    q.set('PageSize', String(size));
    q.set('Page', String(p));
    if (p > 0) q.set('PageToken', `PA${p}`);
    return `${base}.json?${q}`;
  };
  return {
    status: 200,
    body: {
      [key]: items.map(json),
      end: items.length ? start + items.length - 1 : 0,
      first_page_uri: uri(0),
      next_page_uri: start + size < all.length ? uri(page + 1) : null,
      page,
      page_size: size,
      previous_page_uri: page > 0 ? uri(page - 1) : null,
      start,
      uri: uri(page),
    },
  };
}

function notFound(path: string): AccountReply {
  return {
    status: 404,
    body: {
      code: 20404,
      message: `The requested resource ${path} was not found`,
      more_info: 'https://www.twilio.com/docs/errors/20404',
      status: 404,
    },
  };
}

function sid(prefix: 'PN' | 'AP' | 'SK'): string {
  return prefix + randomBytes(16).toString('hex');
}

/** RFC 2822 as Twilio writes it: `Mon, 16 Aug 2010 03:45:01 +0000`. */
function rfc2822(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

/** Twilio's default friendly name: a North American number as `(555) 000-1234`, others as given. */
function formatNumber(e164: string): string {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}

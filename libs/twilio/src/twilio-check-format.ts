import { createHmac } from 'crypto';
import { DEFAULT_INTERNAL_NETWORKS, networkList } from '@hotline/config';

/** How long the gateway at PUBLIC_URL has to answer each request of the check. */
export const HTTP_TIMEOUT_MS = 10_000;

/** Problems with a Twilio access token for these settings (none: it is what Twilio expects of a Voice token). */
export function accessTokenProblems(jwt: string, s: { keySid: string; keySecret: string; accountSid: string; appSid: string }): string[] {
  const parts = jwt.split('.');
  if (parts.length !== 3) return ['it is not a JWT (three dot-separated parts)'];
  let header: Record<string, any>;
  let payload: Record<string, any>;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return ['its header or payload is not base64url JSON'];
  }
  const problems: string[] = [];
  if (header.alg !== 'HS256') problems.push(`alg is ${header.alg}, expected HS256`);
  if (header.typ !== 'JWT') problems.push(`typ is ${header.typ}, expected JWT`);
  if (header.cty !== 'twilio-fpa;v=1') problems.push(`cty is ${header.cty}, expected twilio-fpa;v=1`);
  if (payload.iss !== s.keySid) problems.push('iss is not TWILIO_API_KEY_SID');
  if (payload.sub !== s.accountSid) problems.push('sub is not TWILIO_ACCOUNT_SID');
  if (typeof payload.jti !== 'string' || !payload.jti.startsWith(`${s.keySid}-`)) problems.push('jti does not start with the key SID');
  const now = Math.floor(Date.now() / 1000);
  if (!(typeof payload.exp === 'number' && payload.exp > now)) problems.push('it has expired or has no exp');
  const voice = payload.grants?.voice;
  if (!voice) problems.push('it has no voice grant');
  else {
    if (voice.outgoing?.application_sid !== s.appSid) problems.push('its voice grant does not name TWILIO_TWIML_APP_SID');
    if (voice.incoming?.allow !== true) problems.push('its voice grant does not allow incoming calls');
  }
  if (!payload.grants?.identity) problems.push('it has no identity');
  const expected = createHmac('sha256', s.keySecret).update(`${parts[0]}.${parts[1]}`).digest('base64url');
  if (expected !== parts[2]) problems.push('its signature is not made with TWILIO_API_KEY_SECRET');
  return problems;
}

/** `+…123`: a phone number is never printed whole. */
export function maskNumber(n: string): string {
  const digits = n.replace(/\D/g, '');
  return `+…${digits.slice(-3)}`;
}

/** `AC…cdef`: enough to tell SIDs apart in the Twilio console. */
export function shortSid(sid: string): string {
  return sid.length > 8 ? `${sid.slice(0, 2)}…${sid.slice(-4)}` : sid;
}

/** What a value that is not the expected kind of SID looks like (never the value itself). */
export function describeSid(v: string): string {
  const kinds: Record<string, string> = { AC: 'an account SID', SK: 'an API key SID', AP: 'a TwiML app SID', PN: 'a phone number SID' };
  const kind = /^[A-Z]{2}[0-9a-f]{32}$/i.test(v) ? kinds[v.slice(0, 2).toUpperCase()] : undefined;
  return kind ?? `${v.length} characters that are no Twilio SID`;
}

/** A URL as it may be printed: no credentials, no query (either may carry secrets), digits of a number masked. */
export function showUrl(u: string): string {
  try {
    const url = new URL(u);
    return `${url.protocol}//${url.host}${maskDigits(url.pathname === '/' && !u.endsWith('/') ? '' : url.pathname)}${url.search ? '?…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}

export function originOf(u: string): string | null {
  try {
    return new URL(u).origin;
  } catch {
    return null;
  }
}

export function hostOf(u: string): string {
  try {
    return new URL(u).host;
  } catch {
    return '(not a URL)';
  }
}

export function pathOf(u: string): string {
  try {
    return maskDigits(new URL(u).pathname);
  } catch {
    return '';
  }
}

/** Runs of six or more digits (a phone number in a path, say) never printed. */
export function maskDigits(s: string): string {
  return s.replace(/\d{6,}/g, (d) => `…${d.slice(-3)}`);
}

export function isPost(method: string): boolean {
  return !method || method.toUpperCase() === 'POST';
}

export function statusOf(e: unknown): number | undefined {
  const s = (e as { status?: unknown })?.status;
  return typeof s === 'number' ? s : undefined;
}

/** ECONNREFUSED, ENOTFOUND, a timeout, or a certificate problem, from fetch's or axios's error. */
export function networkProblem(e: unknown): string {
  const err = e as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.code === 'ECONNABORTED')
    return `no answer within ${HTTP_TIMEOUT_MS / 1000} s`;
  const code = err?.cause?.code ?? err?.code;
  if (typeof code === 'string' && code) return code;
  return maskDigits(String(err?.cause?.message ?? err?.message ?? e)).slice(0, 200);
}

export function isLocalAddress(ip: string): boolean {
  return networkList(`${DEFAULT_INTERNAL_NETWORKS},169.254.0.0/16,fe80::/10,0.0.0.0/8`).includes(ip);
}

import type {
  CallDetailView,
  CallNoteView,
  CallPage,
  CallSummaryView,
  DisclosableField,
  EscalationMetaView,
  EscalationView,
  RiskLevel,
  Role,
} from '@hotline/contract';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
    /** The error's name from records, e.g. `agreement_required`, `password_change_required`. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Called when records answers that the current agreement must be accepted first (a new version was published). */
let onAgreementRequired: () => void = () => undefined;
export function setAgreementRequiredHandler(handler: () => void): void {
  onAgreementRequired = handler;
}

/** Called when records answers that this session is locked (by this console in another tab, or before a reload). */
let onLocked: () => void = () => undefined;
export function setLockedHandler(handler: () => void): void {
  onLocked = handler;
}

interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Break-glass: the supervisor's stated reason, sent as X-Access-Reason. */
  reason?: string;
}

/** Called when records says the session is no longer valid (expired or revoked token). */
let onUnauthorized: () => void = () => undefined;
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

/** Records, through the gateway's `/api` pass-through. */
export async function api<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.reason !== undefined) headers['X-Access-Reason'] = headerSafe(opts.reason);
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  } catch {
    throw new ApiError(0, 'The server could not be reached. Check the connection and try again.');
  }
  const text = await res.text();
  let data: any;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const retry = Number(res.headers.get('Retry-After'));
    const message = typeof data?.message === 'string' && data.message ? data.message : res.statusText || `Error ${res.status}`;
    if (res.status === 401 && opts.token) onUnauthorized();
    const code = typeof data?.error === 'string' ? data.error : undefined;
    if (res.status === 403 && code === 'agreement_required') onAgreementRequired();
    if (res.status === 403 && code === 'locked') onLocked();
    throw new ApiError(res.status, message, Number.isFinite(retry) && retry > 0 ? retry : undefined, code);
  }
  return data as T;
}

/** Header values must be Latin-1; anything else is sent percent-encoded rather than refused. */
function headerSafe(value: string): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  return /^[\x20-\x7e\xa0-\xff]*$/.test(flat) ? flat : encodeURIComponent(flat);
}

export interface User {
  id: string;
  username: string;
  role: Role;
}

/** Records' answers about calls: libs/contract's types, which records' own are checked against. */
export type CallSummary = CallSummaryView;
export type Note = CallNoteView;
export type Escalation = EscalationView;
export type CallDetail = CallDetailView;

export const login = (username: string, password: string) =>
  api<{ accessToken: string; user: User; lastSignInAt?: string | null; failedAttemptsSince?: number }>('POST', '/auth/login', {
    body: { username, password },
  });
/** Ends the session on the server (every app refuses the token from now on). */
export const logout = (token: string) => api<void>('POST', '/auth/logout', { token });
export const listCalls = (token: string) => api<CallPage>('GET', '/calls?limit=20', { token });
export const getCall = (token: string, callId: string, reason?: string) =>
  api<CallDetail>('GET', `/calls/${encodeURIComponent(callId)}`, { token, reason });
export const addNote = (token: string, callId: string, text: string, amendsNoteId?: string) =>
  api<{ id: string; createdAt: string }>('POST', `/calls/${encodeURIComponent(callId)}/notes`, {
    token,
    body: amendsNoteId ? { text, amendsNoteId } : { text },
  });
export const assess = (token: string, callId: string, riskLevel: RiskLevel) =>
  api<unknown>('PUT', `/calls/${encodeURIComponent(callId)}/assessment`, { token, body: { riskLevel } });
export const escalate = (token: string, callId: string, body: EscalationInput) =>
  api<{ id: string }>('POST', `/calls/${encodeURIComponent(callId)}/escalations`, { token, body });
/** Escalation ids and co-signatures, no content: what a supervisor needs to co-sign without break-glass. */
export const listEscalations = (token: string, callId: string) =>
  api<EscalationMetaView[]>('GET', `/calls/${encodeURIComponent(callId)}/escalations`, { token });
export const cosign = (token: string, callId: string, escalationId: string) =>
  api<unknown>('POST', `/calls/${encodeURIComponent(callId)}/escalations/${encodeURIComponent(escalationId)}/cosign`, { token });

export interface EscalationInput {
  disclosedTo: string;
  legalBasis: string;
  fieldsDisclosed: DisclosableField[];
  emergencyContactConfirmedAt?: string;
  notes?: string;
}

import { api } from './api';

/** Issue 15 through the `/api` pass-through: callbacks, follow-ups, the wallboard's counts, active rescue. */
export interface CallbackTask {
  id: string;
  callId: string;
  kind: 'callback' | 'followup';
  status: 'open' | 'dialling';
  dueAt: string;
  overdue: boolean;
  attempts: number;
  maxAttempts: number;
  lastOutcome: string | null;
  preferred: boolean;
  /** The country being called (ISO 3166 code and name), never the number; null until records has opened it. */
  country: string | null;
  countryName: string | null;
}

export interface CallbackSummary {
  open: number;
  due: number;
  overdue: number;
  scheduled: number;
  dialling: number;
  overflowToday: Record<string, number>;
  /** Callbacks refused at a cap in the last hour (null: Redis could not say). */
  capRefusalsLastHour: { stage: 'booking' | 'dialling'; cap: 'number' | 'line'; count: number }[] | null;
}

export interface CallerLocation {
  city: string | null;
  state: string | null;
  zip: string | null;
  country: string | null;
}

export interface Disclosure {
  status: 'requested' | 'approved';
  /** Null when the caller's number is withheld (`withheld`). */
  number?: string | null;
  withheld?: boolean;
  location?: CallerLocation | null;
}

export const listCallbacks = (token: string) =>
  api<{ items: CallbackTask[]; priority: 'after_live' | 'before_live'; liveWaiting: number }>('GET', '/callbacks', { token });
export const callbackSummary = (token: string) => api<CallbackSummary>('GET', '/callbacks/summary', { token });
export const dialCallback = (token: string, id: string) =>
  api<{ attemptId: string; country: string; countryName: string | null }>('POST', `/callbacks/${id}/dial`, { token });
export const scheduleFollowup = (token: string, callId: string) =>
  api<{ id: string; dueAt: string }>('POST', `/calls/${callId}/followups`, { token, body: { consent: true } });
export const requestRescue = (token: string, callId: string, reason: string) =>
  api<{ id: string }>('POST', `/calls/${callId}/rescue-requests`, { token, body: { reason } });
export const approveRescue = (token: string, callId: string, id: string, reason: string) =>
  api<{ number: string | null; withheld: boolean; location: CallerLocation | null }>(
    'POST',
    `/calls/${callId}/rescue-requests/${id}/approve`,
    {
      token,
      body: { reason },
    },
  );
export const readRescue = (token: string, callId: string, id: string) =>
  api<Disclosure>('GET', `/calls/${callId}/rescue-requests/${id}`, { token });

/** The location as one line, or what is missing. */
export function place(l: CallerLocation | null | undefined): string {
  const parts = l ? [l.city, l.state, l.zip, l.country].filter(Boolean) : [];
  return parts.length ? parts.join(', ') : 'not sent by the caller’s network';
}

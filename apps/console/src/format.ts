import type { DisclosableField, OperatorStatus, RiskLevel } from '@hotline/contract';

/** 75 → "1:15", 3725 → "1:02:05". */
export function clock(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** A duration in words for screen readers and labels: "1 min 15 s". */
export function spoken(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const m = Math.floor(s / 60);
  return m ? `${m} min ${s % 60} s` : `${s} s`;
}

export function timeOfDay(iso: string | number | Date): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function dateTime(iso: string | number | Date): string {
  const d = new Date(iso);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay ? `today ${timeOfDay(d)}` : d.toLocaleString([], { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** How long a call lasted, from answer (or start) to end: "4:05", or "ongoing". */
export function callLength(c: { startedAt: string; answeredAt?: string | null; endedAt?: string | null }): string {
  return c.endedAt ? clock((Date.parse(c.endedAt) - Date.parse(c.answeredAt ?? c.startedAt)) / 1000) : 'ongoing';
}

export const RISK_LABEL: Record<RiskLevel, string> = {
  none: 'None',
  low: 'Low',
  moderate: 'Moderate',
  high: 'High',
  imminent: 'Imminent',
};

export const STATUS_LABEL: Record<OperatorStatus, string> = {
  available: 'Available',
  offered: 'Being offered a call',
  on_call: 'On a call',
  wrap_up: 'Wrap-up',
  away: 'Away',
};

/** A disclosable field as the escalation form offers it. */
export const DISCLOSABLE_FIELD_LABEL: Record<DisclosableField, string> = {
  caller_location: 'Caller’s location',
  caller_name: 'Caller’s name',
  phone_number: 'Caller’s phone number',
  risk_summary: 'Summary of the situation',
  call_time: 'Time of the call',
};

/** A disclosed field as a recorded escalation lists it ("shared: location, risk summary"). */
export const DISCLOSED_FIELD_NAME: Record<DisclosableField, string> = {
  caller_location: 'location',
  caller_name: 'name',
  phone_number: 'phone number',
  risk_summary: 'risk summary',
  call_time: 'time of call',
};

export const REVOKE_REASON: Record<string, string> = {
  timeout: 'the offer timed out',
  caller_hung_up: 'the caller hung up',
  taken_elsewhere: 'another operator took the call',
  declined: 'you declined it',
  disconnected: 'your connection dropped',
  connect_failed: 'the call could not be connected',
  already_accepted: 'it was already accepted',
  not_offered: 'the offer had already ended',
};

export const human = (code: string): string => REVOKE_REASON[code] ?? code.replace(/_/g, ' ');

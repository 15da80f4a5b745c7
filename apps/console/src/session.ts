import type { User } from './api';

export interface Session {
  token: string;
  user: User;
  /** Epoch ms when the token expires (from its `exp`), if it says. */
  expiresAt?: number;
  /** The console locks after this long without input (records' CONSOLE_IDLE_LOCK_SECONDS). */
  idleLockSeconds?: number;
}

const KEY = 'hotline.session';

/** The session lives in sessionStorage: it survives a reload, not the closing of the tab. */
export function loadSession(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    if (!s?.token || !s.user) return null;
    if (s.expiresAt && s.expiresAt <= Date.now()) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

export function saveSession(token: string, user: Session['user'], idleLockSeconds?: number): Session {
  const session: Session = { token, user, expiresAt: tokenExpiry(token), ...(idleLockSeconds ? { idleLockSeconds } : {}) };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(CALL_KEY);
  sessionStorage.removeItem(ALERTS_KEY);
}

function tokenExpiry(token: string): number | undefined {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What must outlive a reload: the operator's live call (so the call panel comes back) and a
 * supervisor's unacknowledged alerts (so a reload cannot make one disappear).
 */
const CALL_KEY = 'hotline.call';
const ALERTS_KEY = 'hotline.alerts';
export type StoredKey = 'call' | 'alerts';
const KEYS: Record<StoredKey, string> = { call: CALL_KEY, alerts: ALERTS_KEY };

export function loadStored<T>(key: StoredKey): T | null {
  try {
    return JSON.parse(sessionStorage.getItem(KEYS[key]) ?? 'null');
  } catch {
    return null;
  }
}

export function store<T>(key: StoredKey, value: T | null): void {
  if (value === null) sessionStorage.removeItem(KEYS[key]);
  else sessionStorage.setItem(KEYS[key], JSON.stringify(value));
}

import type { Role } from '@hotline/contract';
import { api, User } from '../api';

/** What POST /auth/login and POST /auth/factor answer once the member is in. */
export interface SignedIn {
  accessToken: string;
  user: User & { displayName?: string };
  lastSignInAt?: string | null;
  failedAttemptsSince?: number;
  mustChangePassword?: boolean;
  recoveryCodes?: string[];
  recoveryCodesLeft?: number;
  idleLockSeconds?: number;
}

/** A right password for a role that needs a second factor: no token yet. */
export interface FactorChallenge {
  factorRequired: 'totp' | 'enrol';
  challenge: string;
  /** The member has a passkey, usable in place of a code. */
  passkey?: boolean;
}

export type LoginAnswer = SignedIn | FactorChallenge;

export const isChallenge = (a: LoginAnswer): a is FactorChallenge => 'factorRequired' in a;

export const loginStep = (username: string, password: string) => api<LoginAnswer>('POST', '/auth/login', { body: { username, password } });
export const enrolFactor = (challenge: string) =>
  api<{ secret: string; otpauthUrl: string; qrDataUrl: string }>('POST', '/auth/factor/enrol', { body: { challenge } });
export const sendFactor = (challenge: string, code: string) => api<SignedIn>('POST', '/auth/factor', { body: { challenge, code } });
export const passkeySignInOptions = (challenge: string) => api<any>('POST', '/auth/factor/passkey/options', { body: { challenge } });
export const sendPasskey = (challenge: string, response: unknown) =>
  api<SignedIn>('POST', '/auth/factor/passkey', { body: { challenge, response } });
export const passkeyRegistrationOptions = (token: string) => api<any>('POST', '/auth/passkeys/options', { token });
export const addPasskey = (token: string, response: unknown) =>
  api<{ id: string }>('POST', '/auth/passkeys', { token, body: { response } });
export const changePassword = (token: string, currentPassword: string, newPassword: string) =>
  api<{ accessToken: string }>('POST', '/auth/password', { token, body: { currentPassword, newPassword } });
export const currentAgreement = (token: string) =>
  api<{ version: string; text: string; acceptedAt: string | null }>('GET', '/agreements/current', { token });
export const acceptAgreement = (token: string, version: string) =>
  api<{ version: string; acceptedAt: string }>('POST', `/agreements/${encodeURIComponent(version)}/accept`, { token });

/** GET /auth/me: who is signed in, and whether this session is locked (a reload shows the lock). */
export interface Me extends User {
  displayName: string;
  locked: boolean;
  factors: { totp: boolean; passkey: boolean };
  stepUpUntil: string | null;
  idleLockSeconds: number;
}
/** What unlocking and step-up take: the password, and the code or passkey answer where the member has one. */
export interface Reauth {
  password: string;
  code?: string;
  passkey?: unknown;
}
export const fetchMe = (token: string) => api<Me>('GET', '/auth/me', { token });
export const lockSession = (token: string) => api<void>('POST', '/auth/lock', { token });
export const unlockSession = (token: string, body: Reauth) =>
  api<{ locked: false; stepUpUntil: string }>('POST', '/auth/unlock', { token, body });
export const stepUp = (token: string, body: Reauth) => api<{ stepUpUntil: string }>('POST', '/auth/step-up', { token, body });
export const reauthPasskeyOptions = (token: string) => api<any>('POST', '/auth/reauth/passkey-options', { token });

export interface StaffRow {
  id: string;
  username: string;
  role: Role;
  displayName: string;
  active: boolean;
  factorEnrolled: boolean;
  mustChangePassword: boolean;
  createdAt: string;
}
export const listStaff = (token: string) => api<{ items: StaffRow[] }>('GET', '/users', { token });
export const createStaff = (token: string, body: { username: string; password: string; role: Role; displayName: string }) =>
  api<{ id: string }>('POST', '/users', { token, body });
export const updateStaff = (token: string, id: string, body: { active?: boolean; role?: Role; displayName?: string }) =>
  api<unknown>('PATCH', `/users/${encodeURIComponent(id)}`, { token, body });
export const resetPassword = (token: string, id: string) =>
  api<{ oneTimePassword: string }>('POST', `/users/${encodeURIComponent(id)}/password-reset`, { token });
export const resetFactor = (token: string, id: string) => api<void>('POST', `/users/${encodeURIComponent(id)}/factor-reset`, { token });
export const listAcceptances = (token: string) =>
  api<{
    currentVersion: string | null;
    items: { staffId: string; username: string; role: Role; version: string; acceptedAt: string }[];
    pendingStaffIds: string[];
  }>('GET', '/agreements/acceptances', { token });

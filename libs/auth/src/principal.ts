import type { Role } from '@hotline/contract';

/** What a verified access token says about its bearer. */
export interface Principal {
  id: string;
  username: string;
  role: Role;
  /** The server-side session the token belongs to (see SessionRegistry). */
  sid?: string;
  /** When the token was issued and expires (milliseconds and seconds since the epoch). */
  iatMs?: number;
  exp?: number;
  /** Signed in with a one-time password an admin set: only changing it (and signing out) is served. */
  mustChangePassword?: boolean;
}

export interface AccessTokenClaims {
  sub: string;
  username: string;
  role: Role;
  sid?: string;
  /** Issued at, in milliseconds (`iat` has whole seconds only: a session ended and a new one begun in the same second must differ). */
  iatMs?: number;
  iat?: number;
  exp?: number;
  /** Must change password (see Principal.mustChangePassword). */
  pwc?: boolean;
}

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
}

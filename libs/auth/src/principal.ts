import type { Role } from '@hotline/contract';

/** What a verified access token says about its bearer. */
export interface Principal {
  id: string;
  username: string;
  role: Role;
}

export interface AccessTokenClaims {
  sub: string;
  username: string;
  role: Role;
  iat?: number;
  exp?: number;
}

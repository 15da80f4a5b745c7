import type { Socket } from 'socket.io';
import type { Principal, TokenService } from '@hotline/auth';
import type { Role } from '@hotline/contract';

export interface SocketData {
  principal: Principal;
  /** Settles once the connection is registered in Redis; handlers wait for it. */
  ready?: Promise<unknown>;
}

/**
 * Handshake middleware (`namespace.use`), because Nest guards do not run on connection: a missing,
 * forged or expired token, or a role not listed, gets a connect_error and no events.
 */
export function socketAuth(tokens: TokenService, roles: readonly Role[]) {
  return (socket: Socket, next: (err?: Error) => void): void => {
    const principal = tokens.verify(socket.handshake.auth?.token);
    if (!principal) return next(new Error('unauthorized: sign in again (a valid access token is required)'));
    if (!roles.includes(principal.role)) return next(new Error(`forbidden: this console is for ${roles.join(' and ')} accounts`));
    (socket.data as SocketData).principal = principal;
    next();
  };
}

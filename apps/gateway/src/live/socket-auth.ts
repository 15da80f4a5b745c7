import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Socket } from 'socket.io';
import {
  AGREEMENT_REQUIRED,
  AgreementCatalog,
  PASSWORD_CHANGE_REQUIRED,
  Principal,
  SessionRegistry,
  SessionsEnded,
  TokenService,
} from '@hotline/auth';
import type { Role, SessionEndedReason } from '@hotline/contract';
import { SOCKET_LIMITS, TOO_MANY_CONNECTIONS, limitSocketEvents } from './socket-limits';

export interface SocketData {
  principal: Principal;
  /** Settles once the connection is registered in Redis; handlers wait for it. */
  ready?: Promise<unknown>;
}

/** setTimeout's longest delay; a token living longer is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Who may hold a console socket, for how long. Handshake middleware (`namespace.use`), because Nest
 * guards do not run on connection: a missing, forged or expired token, a session that was ended
 * (signed out, member deactivated or given another role), or a role not listed, gets a connect_error
 * and no events. An admitted socket is told `session:ended` and disconnected when its token expires,
 * and at once when its session is ended on any app or node (SessionRegistry's channel).
 *
 * Limits (socket-limits.ts): a member holds at most SOCKET_LIMITS.connectionsPerMember sockets on
 * this node, both namespaces together (the next gets connect_error `too_many_connections`), and each
 * socket's events go through a token bucket (past it: ack `rate_limited`, not handled; a socket that
 * keeps flooding is disconnected).
 */
@Injectable()
export class SocketSessions implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SocketSessions.name);
  /** This node's sockets by member of staff. */
  private readonly byStaff = new Map<string, Set<Socket>>();

  private keepAlive?: NodeJS.Timeout;

  constructor(
    private readonly tokens: TokenService,
    private readonly sessions: SessionRegistry,
    private readonly agreements: AgreementCatalog,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.sessions.listen((e) => this.ended(e));
    // An open console is a session in use (the console locks itself when its member is idle): its
    // session is kept from the server's idle limit while a socket of it is connected to this node.
    this.keepAlive = setInterval(() => {
      const sids = [...this.byStaff.values()].flatMap((set) => [...set].map((s) => (s.data as SocketData).principal?.sid ?? ''));
      this.sessions.touch([...new Set(sids.filter(Boolean))]).catch(() => undefined);
    }, 60_000);
    this.keepAlive.unref();
  }

  onModuleDestroy(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
  }

  /** The handshake middleware for a namespace open to `roles`. */
  auth(roles: readonly Role[]) {
    return (socket: Socket, next: (err?: Error) => void): void => {
      const principal = this.tokens.verify(socket.handshake.auth?.token);
      if (!principal) return next(new Error('unauthorized: sign in again (a valid access token is required)'));
      if (!roles.includes(principal.role)) return next(new Error(`forbidden: this console is for ${roles.join(' and ')} accounts`));
      this.sessions.check(principal).then(
        ({ state, agreed }) => {
          if (state !== 'live') return next(new Error('unauthorized: this session has ended; sign in again'));
          // Nothing is served before a one-time password is changed and the current agreement accepted (as over HTTP).
          if (principal.mustChangePassword) return next(new Error(PASSWORD_CHANGE_REQUIRED));
          if (!this.agreements.satisfied(agreed)) return next(new Error(AGREEMENT_REQUIRED));
          // Counted and tracked in the same turn, so that handshakes racing each other cannot all pass.
          if ((this.byStaff.get(principal.id)?.size ?? 0) >= SOCKET_LIMITS.connectionsPerMember) {
            this.logger.warn({ msg: 'console connection refused: too many for one member', staffId: principal.id });
            return next(new Error(TOO_MANY_CONNECTIONS));
          }
          (socket.data as SocketData).principal = principal;
          this.track(socket, principal);
          limitSocketEvents(socket, () =>
            this.logger.warn({ msg: 'console socket kept sending past its rate limit; disconnected', staffId: principal.id }),
          );
          next();
        },
        () => next(new Error('unavailable: sessions cannot be checked right now; try again shortly')),
      );
    };
  }

  private track(socket: Socket, p: Principal): void {
    let mine = this.byStaff.get(p.id);
    if (!mine) this.byStaff.set(p.id, (mine = new Set()));
    mine.add(socket);
    let timer: NodeJS.Timeout | undefined;
    const expireAt = (p.exp ?? 0) * 1000;
    const arm = () => {
      const left = expireAt - Date.now();
      if (left <= 0) return this.close(socket, 'expired');
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      timer.unref();
    };
    arm();
    const untrack = () => {
      socket.off('disconnect', untrack);
      socket.conn.off('close', untrack);
      if (timer) clearTimeout(timer);
      mine!.delete(socket);
      if (!mine!.size && this.byStaff.get(p.id) === mine) this.byStaff.delete(p.id);
    };
    socket.once('disconnect', untrack);
    // A client gone before the handshake completes gets no 'disconnect'; its connection's close still untracks it.
    socket.conn.once('close', untrack);
  }

  private ended(e: SessionsEnded): void {
    for (const socket of this.byStaff.get(e.staffId) ?? []) {
      const p = (socket.data as SocketData).principal;
      const hit = e.sid ? p.sid === e.sid : (p.iatMs ?? 0) <= (e.before ?? Infinity);
      if (hit) this.close(socket, e.reason);
    }
  }

  private close(socket: Socket, reason: SessionEndedReason): void {
    this.logger.log({ msg: 'console session ended; socket closed', staffId: (socket.data as SocketData).principal?.id, reason });
    socket.emit('session:ended', { reason });
    socket.disconnect(true);
  }
}

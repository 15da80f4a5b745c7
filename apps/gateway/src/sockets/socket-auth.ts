import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'socket.io';
import {
  AGREEMENT_REQUIRED,
  AgreementCatalog,
  PASSWORD_CHANGE_REQUIRED,
  Principal,
  SESSION_ENDED,
  SESSION_IDLE,
  SESSION_LOCKED,
  SessionEvent,
  SessionRegistry,
  SessionsEnded,
  TokenService,
  agreementRequired,
} from '@hotline/auth';
import { ENV, Env } from '@hotline/config';
import type { Role, SessionEndedReason } from '@hotline/contract';
import { SOCKET_LIMITS, TOO_MANY_CONNECTIONS, limitSocketEvents } from './socket-limits';

export interface SocketData {
  principal: Principal;
  /** Settles once the connection is registered in Redis; handlers wait for it. */
  ready?: Promise<unknown>;
}

/** How long a console's handshake waits for records to confirm its session. */
const RECORDS_CONFIRM_MS = 2000;
/** After records failed to answer, how long handshakes rely on the Redis check alone before asking again. */
const RECORDS_RETRY_MS = 5000;

/** setTimeout's longest delay; a token living longer is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Who may hold a console socket, for how long. Handshake middleware (`namespace.use`), because Nest
 * guards do not run on connection: a missing, forged or expired token, a session that was ended
 * (signed out, member deactivated or given another role), or a role not listed, gets a connect_error
 * and no events; so does a locked session (`locked`) and a member who has not accepted the current
 * agreement (`agreement_required`). An admitted socket is told `session:ended` and disconnected when
 * its token expires, and at once when its session is ended on any app or node; told
 * `session:locked` or `session:agreement_required` and disconnected at once when its session is
 * locked or a new agreement version is published that its member has not accepted (records'
 * signed announcements on SessionRegistry's channel). Every event is checked again before any
 * handler (refused with ack `{ ok: false, error: 'locked' | 'agreement_required' | 'session_ended' }`),
 * so that a node which missed an announcement still serves nothing to such a session.
 *
 * The gateway only reads the sessions' Redis keys (its Redis user may not write them); records
 * writes them, signs what must be believed, and keeps its own record in MySQL (docs/records.md, "Tokens and
 * sessions"). An open console keeps its session from the server's idle limit by its own requests to
 * records (the console asks GET /auth/me every minute while unlocked).
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
  private lastUnreachableLog = 0;
  /** Until then records is taken as out of reach without asking (it failed to answer just before). */
  private recordsDownUntil = 0;
  private recordsAgent?: http.Agent;

  constructor(
    private readonly tokens: TokenService,
    private readonly sessions: SessionRegistry,
    private readonly agreements: AgreementCatalog,
    @Inject(ENV) private readonly env: Env,
  ) {}

  onModuleDestroy(): void {
    // The kept-alive connections to records close with the app.
    this.recordsAgent?.destroy();
  }

  async onModuleInit(): Promise<void> {
    // Outside tests and the demo a missing agreements directory stops start-up (it must not mean "no agreement").
    if (agreementRequired(this.env)) this.agreements.assertPublished();
    await this.sessions.listen((e) => this.heard(e));
  }

  /** The handshake middleware for a namespace open to `roles`. */
  auth(roles: readonly Role[]) {
    return (socket: Socket, next: (err?: Error) => void): void => {
      const principal = this.tokens.verify(socket.handshake.auth?.token);
      if (!principal) return next(new Error('unauthorized: sign in again (a valid access token is required)'));
      if (!roles.includes(principal.role)) return next(new Error(`forbidden: this console is for ${roles.join(' and ')} accounts`));
      this.sessions.check(principal).then(
        ({ state, agreed, locked, lockedBy }) => {
          if (state !== 'live') return next(new Error('unauthorized: this session has ended; sign in again'));
          // Nothing is served to a locked session until it is unlocked at records (POST /auth/unlock).
          if (locked && lockedBy !== 'heard') return next(new Error(SESSION_LOCKED));
          // Nothing is served before a one-time password is changed and the current agreement accepted (as over HTTP).
          if (principal.mustChangePassword) return next(new Error(PASSWORD_CHANGE_REQUIRED));
          if (!this.agreements.satisfied(agreed)) return next(new Error(AGREEMENT_REQUIRED));
          return this.confirm(socket.handshake.auth?.token as string).then(({ refusal, confirmed }) => {
            if (refusal) return next(new Error(refusal));
            // Locked as far as this node heard, the marker gone: only records' word unlocks it (the unlock's announcement may lag).
            if (locked) {
              if (!confirmed) return next(new Error(SESSION_LOCKED));
              this.sessions.forgetLock(principal.sid!);
            }
            this.admit(socket, principal, next);
          });
        },
        () => next(new Error('unavailable: sessions cannot be checked right now; try again shortly')),
      );
    };
  }

  /**
   * Records' word on the session (GET /auth/session, decided on its MySQL record, which no Redis
   * writer can change): a `refusal` (the connect_error to refuse with), or none, `confirmed` when
   * records said yes. Records out of reach (down, slow, 5xx) leaves the decision to the Redis check
   * already made (fail open for the caller: consoles reconnect during a records outage), said in the
   * log at most once a minute.
   */
  private async confirm(token: string): Promise<{ refusal: string | null; confirmed: boolean }> {
    let res: { status: number; body: { error?: unknown } | null };
    // Records failed to answer moments ago: a thousand consoles reconnecting during its outage do not
    // each wait for, and pile up, a request of their own (a locked session is still refused below).
    if (Date.now() < this.recordsDownUntil) return { refusal: null, confirmed: false };
    try {
      res = await this.askRecords(token);
    } catch (e) {
      this.recordsUnreachable((e as Error).name);
      return { refusal: null, confirmed: false };
    }
    if (res.status >= 200 && res.status < 300) return { refusal: null, confirmed: true };
    const { body } = res;
    // Records says the session is over; a 401 for a token it cannot verify at all means it is not this
    // deployment's records (or its keys differ): a misconfiguration, not the member's doing.
    if (res.status === 401 && (body?.error === SESSION_ENDED || body?.error === SESSION_IDLE))
      return { refusal: 'unauthorized: this session has ended; sign in again', confirmed: false };
    if (res.status === 403) {
      const error = typeof body?.error === 'string' ? body.error : '';
      const known = error === SESSION_LOCKED || error === AGREEMENT_REQUIRED || error === PASSWORD_CHANGE_REQUIRED;
      return { refusal: known ? error : 'forbidden: records refused this session', confirmed: false };
    }
    this.recordsUnreachable(`HTTP ${res.status}`);
    return { refusal: null, confirmed: false };
  }

  /**
   * GET /auth/session at records over one kept-alive connection pool (node:http, not fetch: a console
   * handshake is frequent and small, and a thousand consoles connecting at once should cost a thousand
   * small requests, not a thousand fetch machineries). Rejects when records is out of reach or slow.
   */
  private askRecords(token: string): Promise<{ status: number; body: { error?: unknown } | null }> {
    const url = new URL('/auth/session', this.env.RECORDS_URL.replace(/\/$/, '') + '/');
    const client = url.protocol === 'https:' ? https : http;
    this.recordsAgent ??= new client.Agent({ keepAlive: true, maxSockets: 16 });
    return new Promise((resolve, reject) => {
      const req = client.request(
        url,
        {
          agent: this.recordsAgent,
          headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
          timeout: RECORDS_CONFIRM_MS,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          // Only a refusal's body is read (its error code); a yes is drained.
          if (status < 400) {
            res.resume();
            res.on('end', () => resolve({ status, body: null }));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= 16_384) chunks.push(c);
          });
          res.on('end', () => {
            let body: { error?: unknown } | null;
            try {
              body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: unknown };
            } catch {
              body = null;
            }
            resolve({ status, body });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('records did not answer in time'), { name: 'TimeoutError' })));
      req.on('error', reject);
      req.end();
    });
  }

  private recordsUnreachable(why: string): void {
    this.recordsDownUntil = Date.now() + RECORDS_RETRY_MS;
    if (Date.now() - this.lastUnreachableLog < 60_000) return;
    this.lastUnreachableLog = Date.now();
    this.logger.warn({ msg: 'records could not confirm a console session; admitted on the Redis check alone', why });
  }

  /** The session passed: counted against the member's cap, tracked, limited and checked at every event. */
  private admit(socket: Socket, principal: Principal, next: (err?: Error) => void): void {
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
    this.checkEvents(socket);
    next();
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

  /**
   * Every event of an admitted socket, before any handler: its session must still be live, unlocked
   * and its member's agreement current (Redis, and what this node heard on the channel). A refused
   * event is acked `{ ok: false, error }` and handled by nothing; the socket is then told why and
   * closed. If Redis cannot be asked the event goes on (fail open for the caller: the handshake and
   * the channel stand guard).
   */
  private checkEvents(socket: Socket): void {
    socket.use((packet, next) => {
      const p = (socket.data as SocketData).principal;
      const refuse = (error: string) => {
        const ack = packet[packet.length - 1];
        if (typeof ack === 'function') ack({ ok: false, error });
      };
      this.sessions.check(p).then(
        ({ state, locked, agreed }) => {
          if (state !== 'live') {
            refuse('session_ended');
            return this.close(socket, state === 'idle' ? 'idle' : 'expired');
          }
          if (locked) {
            refuse(SESSION_LOCKED);
            return this.refuseSocket(socket, 'session:locked', {});
          }
          if (!this.agreements.satisfied(agreed)) {
            refuse(AGREEMENT_REQUIRED);
            return this.refuseSocket(socket, 'session:agreement_required', { version: this.agreements.requiredVersion() });
          }
          next();
        },
        () => next(),
      );
    });
  }

  /** A change records announced (signed): sessions ended or locked, a new agreement version. */
  private heard(e: SessionEvent): void {
    if (e.kind === 'ended') return this.ended(e);
    if (e.kind === 'locked') {
      for (const socket of this.byStaff.get(e.staffId) ?? [])
        if ((socket.data as SocketData).principal.sid === e.sid) this.refuseSocket(socket, 'session:locked', {});
      return;
    }
    if (e.kind === 'agreement') {
      this.agreements.announced(e.version);
      void this.recheckAgreements();
    }
  }

  /** A new agreement version: the sockets of members who have not accepted it are told and closed. */
  private async recheckAgreements(): Promise<void> {
    const version = this.agreements.requiredVersion();
    if (!version) return;
    await Promise.all(
      [...this.byStaff.keys()].map(async (staffId) => {
        let agreed: string | null;
        try {
          agreed = await this.sessions.agreedVersion(staffId);
        } catch {
          // Redis cannot be asked: the next event of each socket is checked again.
          return;
        }
        if (this.agreements.satisfied(agreed)) return;
        for (const socket of this.byStaff.get(staffId) ?? []) this.refuseSocket(socket, 'session:agreement_required', { version });
      }),
    );
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

  /** The session is locked, or its member must accept a new agreement: the console is told, and closed. */
  private refuseSocket(socket: Socket, event: 'session:locked' | 'session:agreement_required', payload: object): void {
    if (!socket.connected) return;
    this.logger.log({ msg: 'console socket closed', staffId: (socket.data as SocketData).principal?.id, why: event });
    socket.emit(event, payload);
    socket.disconnect(true);
  }
}

import type Redis from 'ioredis';
import type { SupervisionMode, TransferMode } from '@hotline/contract';
import { DEFAULT_ROUTING_PREFIX } from './routing.store';

/** Who a conference leg is, from its ParticipantLabel: the caller, an operator, a supervisor, a directory entry. */
export type LegRole = { kind: 'caller' } | { kind: 'op'; id: string } | { kind: 'sup'; id: string } | { kind: 'ext'; id: string };

export function legLabel(role: LegRole): string {
  return role.kind === 'caller' ? 'caller' : `${role.kind}:${role.id}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function parseLegLabel(label: string): LegRole | null {
  if (label === 'caller') return { kind: 'caller' };
  const m = /^(op|sup|ext):([a-z0-9-]{1,64})$/.exec(label);
  if (!m) return null;
  if (m[1] !== 'ext' && !UUID.test(m[2])) return null;
  return { kind: m[1] as 'op' | 'sup' | 'ext', id: m[2] };
}

/** A transfer in flight: to an operator (`to`: their id) or a directory entry (`to`: `dir:<id>`). */
export interface TransferInFlight {
  /** The transfer's record id (call_transfers). */
  id?: string;
  mode: TransferMode;
  by: string;
  to: string;
  leg: string | null;
  at: number;
  joined: boolean;
}

export interface ConferenceCall {
  callId: string;
  /** How the caller was bridged: `conference`, or `direct` when the conference could not be created. */
  bridge: 'conference' | 'direct';
  conferenceSid: string | null;
  callerLeg: string | null;
  operatorId: string | null;
  operatorLeg: string | null;
  holdSince: number | null;
  supervisor: { id: string; mode: SupervisionMode; leg: string | null; joined: boolean } | null;
  transfer: TransferInFlight | null;
  helpAt: number | null;
  ended: boolean;
}

const TTL_SECONDS = 86400;

/**
 * What the gateway knows of each call that lives in a conference: its conference, its legs (by
 * CallSid, never a number), hold, supervision, a transfer in flight, a help request. In Redis, under
 * the routing prefix (one hash tag), so every gateway node sees the same; status callbacks are
 * applied once each (ConferenceSid + SequenceNumber).
 *
 *   conf:<callId>      HASH  bridge sid caller op opLeg holdSince sup supMode supLeg supJoined xfer help ended
 *   confsid:<CF>       STRING callId
 *   confseq:<CF>       SET   SequenceNumbers applied
 *   confasp:<CF>       HASH  aspect (hold:<CA>, leg:<CA>) -> newest SequenceNumber applied
 *   answered:<CA>      STRING a leg's answer, seen once
 *   confs              SET   callIds of conferences in progress (the wallboard's live calls)
 */
export class ConferenceState {
  private readonly p: string;

  constructor(
    private readonly redis: Redis,
    prefix = DEFAULT_ROUTING_PREFIX,
  ) {
    this.p = prefix;
  }

  private key(callId: string): string {
    return `${this.p}conf:${callId}`;
  }

  async begin(
    callId: string,
    bridge: 'conference' | 'direct',
    operatorId: string,
    callerLeg: string,
    operatorLeg: string | null,
    conferenceSid: string | null,
  ): Promise<void> {
    const k = this.key(callId);
    const m = this.redis.multi();
    // A call bridged again (after a cold transfer, or a missed leg) starts clean: nothing of the
    // earlier conference (its SID, hold, supervisor, transfer, help request) carries over.
    m.hset(k, {
      bridge,
      op: operatorId,
      caller: callerLeg,
      opLeg: operatorLeg ?? '',
      sid: '',
      ended: '',
      holdSince: '',
      sup: '',
      supMode: '',
      supLeg: '',
      supJoined: '',
      supRec: '',
      xfer: '',
      help: '',
    });
    if (conferenceSid) m.hset(k, 'sid', conferenceSid).set(`${this.p}confsid:${conferenceSid}`, callId, 'EX', TTL_SECONDS);
    if (bridge === 'conference') m.sadd(`${this.p}confs`, callId);
    m.expire(k, TTL_SECONDS);
    await m.exec();
  }

  async get(callId: string): Promise<ConferenceCall | null> {
    const h = await this.redis.hgetall(this.key(callId));
    if (!h.bridge) return null;
    return {
      callId,
      bridge: h.bridge as 'conference' | 'direct',
      conferenceSid: h.sid || null,
      callerLeg: h.caller || null,
      operatorId: h.op || null,
      operatorLeg: h.opLeg || null,
      holdSince: h.holdSince ? Number(h.holdSince) : null,
      supervisor: h.sup ? { id: h.sup, mode: h.supMode as SupervisionMode, leg: h.supLeg || null, joined: h.supJoined === '1' } : null,
      transfer: h.xfer ? (JSON.parse(h.xfer) as TransferInFlight) : null,
      helpAt: h.help ? Number(h.help) : null,
      ended: h.ended === '1',
    };
  }

  /** True the first time an answer of this leg (its CallSid) is seen: Twilio may report it twice. */
  async firstAnswer(legSid: string): Promise<boolean> {
    return (await this.redis.set(`${this.p}answered:${legSid}`, '1', 'EX', TTL_SECONDS, 'NX')) === 'OK';
  }

  /**
   * Conference events arrive in no guaranteed order: an event about one aspect of the conference
   * (a leg's hold, a leg's presence) is applied only when its SequenceNumber is newer than the last
   * applied for that aspect. True when this one is the newest so far.
   */
  async newest(conferenceSid: string, aspect: string, sequence: number): Promise<boolean> {
    const k = `${this.p}confasp:${conferenceSid}`;
    const r = await this.redis.eval(
      "local v = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1') if tonumber(ARGV[2]) <= v then return 0 end redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) redis.call('EXPIRE', KEYS[1], ARGV[3]) return 1",
      1,
      k,
      aspect,
      String(sequence),
      String(TTL_SECONDS),
    );
    return r === 1;
  }

  /** True the first time this callback (ConferenceSid + SequenceNumber) is seen. */
  async firstTime(conferenceSid: string, sequence: string): Promise<boolean> {
    const k = `${this.p}confseq:${conferenceSid}`;
    const [[, added]] = (await this.redis.multi().sadd(k, sequence).expire(k, TTL_SECONDS).exec()) as [[unknown, number]];
    return added === 1;
  }

  async setConferenceSid(callId: string, sid: string): Promise<void> {
    await this.redis.multi().hset(this.key(callId), 'sid', sid).set(`${this.p}confsid:${sid}`, callId, 'EX', TTL_SECONDS).exec();
  }

  async set(callId: string, fields: Record<string, string | number>): Promise<void> {
    await this.redis.hset(this.key(callId), fields);
  }

  async setTransfer(callId: string, t: TransferInFlight | null): Promise<void> {
    await this.redis.hset(this.key(callId), 'xfer', t ? JSON.stringify(t) : '');
  }

  /** Only one transfer at a time: sets it if none is in flight. */
  async startTransfer(callId: string, t: TransferInFlight): Promise<boolean> {
    const ok = await this.redis.eval(
      "local x = redis.call('HGET', KEYS[1], 'xfer') if x and x ~= '' then return 0 end redis.call('HSET', KEYS[1], 'xfer', ARGV[1]) return 1",
      1,
      this.key(callId),
      JSON.stringify(t),
    );
    return ok === 1;
  }

  /** Only one supervisor at a time: sets them if nobody supervises. */
  async startSupervision(callId: string, supervisorId: string, mode: SupervisionMode): Promise<boolean> {
    const ok = await this.redis.eval(
      "local s = redis.call('HGET', KEYS[1], 'sup') if s and s ~= '' and s ~= ARGV[1] then return 0 end redis.call('HSET', KEYS[1], 'sup', ARGV[1], 'supMode', ARGV[2]) return 1",
      1,
      this.key(callId),
      supervisorId,
      mode,
    );
    return ok === 1;
  }

  /** The record id of the supervision in progress (call_supervisions). */
  async supervisionRecord(callId: string): Promise<string | null> {
    return (await this.redis.hget(this.key(callId), 'supRec')) || null;
  }

  async endSupervision(callId: string): Promise<void> {
    await this.redis.hset(this.key(callId), 'sup', '', 'supMode', '', 'supLeg', '', 'supJoined', '', 'supRec', '');
  }

  async ended(callId: string): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key(callId), 'ended', '1', 'holdSince', '', 'help', '')
      .srem(`${this.p}confs`, callId)
      .expire(this.key(callId), 600)
      .exec();
  }

  /** The calls in a conference now (for the wallboard). */
  async live(): Promise<ConferenceCall[]> {
    const ids = await this.redis.smembers(`${this.p}confs`);
    const out: ConferenceCall[] = [];
    for (const id of ids.slice(0, 200)) {
      const c = await this.get(id);
      if (c && !c.ended) out.push(c);
      else if (!c) await this.redis.srem(`${this.p}confs`, id);
    }
    return out;
  }
}

import { Injectable } from '@nestjs/common';
import type { AckReply, RiskLevel } from '@hotline/contract';
import { callRiskLevel } from '@hotline/calls/records';
import { Clock } from '@hotline/clock';
import { withTimeout } from '@hotline/observability';
import { ConferenceState, RoutingStore } from '@hotline/routing';
import { LiveEvents } from '../live/live-events';
import { RecordsDb } from '../records-db';

const LOOKUP_MS = 800;

/** The operator asks for help: every supervisor's wallboard hears it, with the call's risk level. */
@Injectable()
export class HelpRequests {
  constructor(
    private readonly store: RoutingStore,
    private readonly state: ConferenceState,
    private readonly live: LiveEvents,
    private readonly db: RecordsDb,
    private readonly clock: Clock,
  ) {}

  async help(operatorId: string, callId: string): Promise<AckReply> {
    const call = await this.store.call(callId);
    if (!call || call.state !== 'connected' || call.operatorId !== operatorId) return { ok: false, error: 'not_your_call' };
    const c = await this.state.get(callId);
    const now = this.clock.nowMs();
    const since = c?.helpAt ?? now;
    if (c) await this.state.set(callId, { help: since });
    const riskLevel = await this.riskLevel(callId);
    this.live.toSupervisors('help:requested', {
      callId,
      operatorId,
      riskLevel,
      at: new Date(since).toISOString(),
      waitingSeconds: Math.max(0, Math.floor((now - since) / 1000)),
    });
    this.live.statsChanged();
    return { ok: true };
  }

  /** The call's risk level as on record; 'none' when records cannot say in time (the request still goes out). */
  private async riskLevel(callId: string): Promise<RiskLevel> {
    try {
      return await withTimeout(
        this.db.get().then((ds) => callRiskLevel(ds, callId)),
        LOOKUP_MS,
      );
    } catch {
      return 'none';
    }
  }
}

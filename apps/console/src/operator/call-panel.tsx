import type { CallerHint, RiskLevel } from '@hotline/contract';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, CallDetail, getCall } from '../api';
import { RISK_LABEL, clock, spoken } from '../format';
import type { Session } from '../session';
import { useNow } from '../socket';
import { ErrorText } from '../ui';
import { CallControls, Targets } from './call-controls';
import { EscalationForm } from './escalation-form';
import { LiveCall, OperatorSocket } from './live';
import { Notes } from './notes';
import { Followup } from './followup';
import { RescueRequest } from './rescue-request';
import { RiskControl } from './risk-control';
import { WrapUp } from './wrap-up';

/** The live call (then its wrap-up): who is calling, how long, notes, risk, escalation. */
export function CallPanel(props: {
  call: LiveCall;
  session: Session;
  socket: OperatorSocket;
  targets: Targets | null;
  onWrappedUp: () => void;
}) {
  const { call, session } = props;
  const now = useNow();
  const [detail, setDetail] = useState<CallDetail | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    // The gateway records who answered as the call connects; give records a moment to catch up.
    for (let attempt = 0; ; attempt++) {
      try {
        setDetail(await getCall(session.token, call.callId));
        setLoadError(null);
        return;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404 && attempt < 8) {
          await new Promise((r) => setTimeout(r, 750));
          continue;
        }
        setLoadError(`The call record could not be loaded: ${(e as Error).message}`);
        return;
      }
    }
  }, [session.token, call.callId]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const risk = (detail?.assessment?.riskLevel ?? detail?.riskLevel ?? null) as RiskLevel | null;
  const ended = call.endedAt !== undefined;
  const seconds = ((call.endedAt ?? now) - call.connectedAt) / 1000;

  return (
    <section class={`panel call ${ended ? 'ended' : ''}`} aria-labelledby="call-title">
      <div class="call-head">
        <div>
          <h2 id="call-title">{ended ? 'Call ended: wrap-up' : 'Call in progress'}</h2>
          <CallerLine caller={call.caller} />
        </div>
        <div class="call-timer">
          <span role="timer" aria-label={`Call length ${spoken(seconds)}`}>
            {clock(seconds)}
          </span>
        </div>
      </div>
      <ErrorText error={loadError} />
      {!ended && <CallControls callId={call.callId} socket={props.socket} targets={props.targets} token={session.token} />}
      <div class="call-body">
        <Notes session={session} callId={call.callId} notes={detail?.notes ?? []} onSaved={refresh} />
        <div class="call-side">
          <RiskControl session={session} callId={call.callId} value={risk} onSaved={refresh} />
          {(risk === 'imminent' || (detail?.escalations?.length ?? 0) > 0) && (
            <EscalationForm session={session} callId={call.callId} escalations={detail?.escalations ?? []} onSaved={refresh} />
          )}
          {risk === 'imminent' && <RescueRequest session={session} callId={call.callId} ended={ended} />}
          {ended && <Followup session={session} callId={call.callId} />}
          {ended && <WrapUp callId={call.callId} socket={props.socket} onDone={props.onWrappedUp} />}
        </div>
      </div>
    </section>
  );
}

/** The caller as the console may know them: a pseudonym and whether they called before. */
function CallerLine(props: { caller?: CallerHint }) {
  const c = props.caller;
  if (!c) return <p class="caller">Number withheld: no earlier calls can be shown.</p>;
  return (
    <p class="caller">
      Caller <span class="pseudonym">{c.pseudonym}</span>{' '}
      <span class="sep" aria-hidden="true">
        ·
      </span>{' '}
      {c.earlierCalls > 0 ? (
        <span class="returning">
          Returning caller: {c.earlierCalls} earlier {c.earlierCalls === 1 ? 'call' : 'calls'}
          {c.lastRiskLevel ? `; last risk level: ${RISK_LABEL[c.lastRiskLevel].toLowerCase()}` : ''}
        </span>
      ) : (
        <span>First call from this caller</span>
      )}
    </p>
  );
}

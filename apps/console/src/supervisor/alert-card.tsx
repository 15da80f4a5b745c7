import type { EscalationAlert } from '@hotline/contract';
import { useEffect, useState } from 'preact/hooks';
import { cosign, listEscalations } from '../api';
import { RISK_LABEL, timeOfDay } from '../format';
import type { Session } from '../session';
import { ErrorText } from '../ui';

/** One alert per call: a later alert on the same call (assessment, then escalation) refreshes it. */
export type Alert = EscalationAlert & { key: string; count: number };

/** An escalation alert: who raised it, when, and Co-sign for each escalation awaiting a supervisor. */
export function AlertCard(props: {
  alert: Alert;
  session: Session;
  canRead: boolean;
  operatorName: string;
  onOpen: () => void;
  onAcknowledge: () => void;
}) {
  const { alert, session } = props;
  const [escalations, setEscalations] = useState<{ id: string; createdAt: string; cosignedAt: string | null }[] | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!props.canRead) return;
    let live = true;
    listEscalations(session.token, alert.callId)
      .then((list) => live && setEscalations(list))
      .catch((e) => live && setError(`Escalations could not be loaded: ${(e as Error).message}`));
    return () => {
      live = false;
    };
  }, [alert.callId, alert.at, props.canRead, session.token]);

  const sign = async (id: string) => {
    setBusy(id);
    setError(null);
    try {
      await cosign(session.token, alert.callId, id);
      setEscalations((list) => list?.map((e) => (e.id === id ? { ...e, cosignedAt: new Date().toISOString() } : e)) ?? null);
    } catch (e) {
      setError(`Not co-signed: ${(e as Error).message}`);
    } finally {
      setBusy(null);
    }
  };

  const pending = escalations?.filter((e) => !e.cosignedAt) ?? [];
  const signed = escalations?.filter((e) => e.cosignedAt) ?? [];
  return (
    <div class="alert" role="alert">
      <div>
        <p class="alert-title">{RISK_LABEL[alert.riskLevel] ?? alert.riskLevel} risk: escalation on a call</p>
        <p>
          Raised by {props.operatorName} at {timeOfDay(alert.at)}.{' '}
          {!props.canRead
            ? 'A supervisor must review and co-sign it.'
            : escalations === null
              ? ''
              : pending.length
                ? `${pending.length === 1 ? 'An escalation awaits' : `${pending.length} escalations await`} your co-signature.`
                : signed.length
                  ? 'Co-signed.'
                  : 'The operator is recording the escalation.'}
        </p>
        <ErrorText error={error} />
      </div>
      <div class="actions">
        {pending.map((e) => (
          <button key={e.id} type="button" class="button primary" disabled={busy === e.id} onClick={() => sign(e.id)}>
            {pending.length > 1 ? `Co-sign (${timeOfDay(e.createdAt)})` : 'Co-sign'}
          </button>
        ))}
        {props.canRead && (
          <button type="button" class="button" onClick={props.onOpen}>
            Open call
          </button>
        )}
        <button type="button" class="button" onClick={props.onAcknowledge}>
          Acknowledge
        </button>
      </div>
    </div>
  );
}

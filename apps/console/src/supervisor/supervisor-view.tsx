import {
  CONTENT_READERS,
  NAMESPACES,
  QueueStats,
  SmsCap,
  SmsCapAlert,
  ReconcileRefusal,
  ReconcileRefusedAlert,
  SupervisorClientEvents,
  SupervisorServerEvents,
} from '@hotline/contract';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { CallTable } from '../call-table';
import { timeOfDay } from '../format';
import { Session, loadStored, store } from '../session';
import { useSocket, useSocketEvents } from '../socket';
import { alertCue, soundReady, unlockSound } from '../sound';
import { TopBar } from '../ui';
import { useVoice } from '../voice';
import { StatsPanel } from '../stats/stats-panel';
import { Alert, AlertCard } from './alert-card';
import { BreakGlass } from './break-glass';
import { CallbackBoard, RescueAlertItem, RescueAlerts } from './rescue-alerts';
import { HelpRequest, LiveCalls } from './live-calls';
import { Operators, WaitingCalls, Wallboard } from './wallboard';

const ALERT_REPEAT_MS = 30_000;

/** What each cap on the privacy line's verification SMS means to a supervisor. */
const SMS_CAP_TEXT: Record<SmsCap, string> = {
  number: 'one number was sent its hourly limit of codes',
  country: 'numbers of one country were sent their hourly limit of codes',
  total: 'the hourly limit of codes for all numbers was reached',
};

/** What a refused reconciliation means to a supervisor (who calls whoever runs the databases). */
const RECONCILE_TEXT: Record<ReconcileRefusal, string> = {
  keystore_paired_elsewhere: 'the worker is connected to a records database that is not the keystore’s own',
  too_many_orphans: 'most data keys have no call in the records database (a restore under way, or the wrong database)',
  records_database_unknown: 'the records database has no identity (not migrated?)',
};

/**
 * The supervisor's wallboard (`/supervisor` namespace): escalation alerts to co-sign, the queue's
 * figures, who waits, the operators' states and, for supervisors, recent calls (opened by break-glass).
 * Admins see the same wallboard without any call content.
 */
export function SupervisorView(props: { session: Session; onSignOut: () => void; onRefused: (m: string) => void }) {
  const { session } = props;
  const { socket, state } = useSocket<SupervisorServerEvents, SupervisorClientEvents>(
    NAMESPACES.supervisor,
    session.token,
    props.onRefused,
  );
  const [snapshot, setSnapshot] = useState<{ stats: QueueStats; at: number } | null>(null);
  const [alerts, setAlertsState] = useState<Alert[]>(() => loadStored<Alert[]>('alerts') ?? []);
  const [smsCaps, setSmsCaps] = useState<SmsCapAlert[]>([]);
  const [refusals, setRefusals] = useState<ReconcileRefusedAlert[]>([]);
  const [rescues, setRescues] = useState<RescueAlertItem[]>([]);
  const [opening, setOpening] = useState<string | null>(null);
  const [callsVersion, setCallsVersion] = useState(0);
  const [help, setHelp] = useState<HelpRequest[]>([]);
  const [, setSoundTick] = useState(0);
  // Admins watch the wallboard but read no call content.
  const canRead = CONTENT_READERS.includes(session.user.role);
  const canSupervise = session.user.role === 'supervisor';
  // The supervisor's browser audio: registered when they listen, coach or join, let go when they are off the call.
  const voice = useVoice({ token: session.token, staffId: session.user.id }, { onDemand: true });
  const { announce } = voice;

  const setAlerts = useCallback((update: (a: Alert[]) => Alert[]) => {
    setAlertsState((current) => {
      const next = update(current);
      store('alerts', next.length ? next : null);
      return next;
    });
  }, []);

  useSocketEvents(
    socket,
    () => ({
      'queue:stats': (stats) => {
        setSnapshot((prev) => {
          if (prev && (prev.stats.answeredToday !== stats.answeredToday || prev.stats.abandonedToday !== stats.abandonedToday))
            setCallsVersion((v) => v + 1);
          return { stats, at: Date.now() };
        });
      },
      'alert:escalation': (alert) => {
        setAlerts((list) => {
          const known = list.find((a) => a.callId === alert.callId);
          if (!known) return [{ ...alert, key: alert.callId, count: 1 }, ...list];
          if (known.at === alert.at) return list;
          return [{ ...known, ...alert, count: known.count + 1 }, ...list.filter((a) => a !== known)];
        });
        setCallsVersion((v) => v + 1);
        alertCue();
      },
      'alert:sms_cap': (alert) => setSmsCaps((list) => [alert, ...list.filter((a) => a.cap !== alert.cap)]),
      'alert:reconcile_refused': (alert) => setRefusals((list) => [alert, ...list.filter((a) => a.reason !== alert.reason)]),
      'alert:rescue': (alert) => {
        setRescues((list) => [alert, ...list.filter((a) => a.requestId !== alert.requestId)]);
        alertCue();
      },
      'help:requested': (h) => {
        setHelp((list) => [
          { callId: h.callId, operatorId: h.operatorId, riskLevel: h.riskLevel, at: h.at ? Date.parse(h.at) : Date.now() },
          ...list.filter((x) => x.callId !== h.callId),
        ]);
        alertCue();
      },
      connect: () => setCallsVersion((v) => v + 1),
      // The leg onto a call this supervisor listens to, coaches or joins is about to ring: the voice leg takes it.
      'voice:leg': (a) => announce(a),
    }),
    [setAlerts, announce],
  );

  // An unacknowledged alert keeps sounding and keeps the tab title flagged.
  useEffect(() => {
    document.title = alerts.length ? `(${alerts.length}) ALERT · Hotline supervisor` : 'Hotline supervisor';
    if (!alerts.length) return;
    const t = setInterval(alertCue, ALERT_REPEAT_MS);
    return () => clearInterval(t);
  }, [alerts.length]);

  const operatorName = (id: string) => snapshot?.stats.operatorList?.find((o) => o.id === id)?.name ?? 'an operator';

  return (
    <div class="shell">
      <TopBar session={session} connection={state} onSignOut={props.onSignOut} title="Supervisor" />
      <main class="supervisor">
        {!soundReady() && (
          <p class="notice">
            Alert sounds are off until you interact with the page.{' '}
            <button
              type="button"
              class="link"
              onClick={() => {
                unlockSound();
                setTimeout(() => setSoundTick((t) => t + 1), 100);
              }}
            >
              Turn on alert sounds
            </button>
          </p>
        )}
        {smsCaps.map((a) => (
          <p class="notice" role="status" key={a.cap}>
            <span>
              Privacy line, {timeOfDay(a.at)}: {SMS_CAP_TEXT[a.cap] ?? a.cap}. Further codes are refused until the hour is up. Many refusals
              may mean someone is sending SMS through the line at the service's cost.
            </span>
            <button type="button" class="link" onClick={() => setSmsCaps((list) => list.filter((x) => x !== a))}>
              Dismiss
            </button>
          </p>
        ))}
        {refusals.map((a) => (
          <p class="notice" role="alert" key={a.reason}>
            <span>
              Data protection, {timeOfDay(a.at)}: no data key was destroyed because {RECONCILE_TEXT[a.reason] ?? a.reason}. Tell whoever
              runs the databases; nothing is lost meanwhile.
            </span>
            <button type="button" class="link" onClick={() => setRefusals((list) => list.filter((x) => x !== a))}>
              Dismiss
            </button>
          </p>
        ))}
        {canRead && (
          <RescueAlerts
            session={session}
            alerts={rescues}
            operatorName={operatorName}
            onDone={(id) => setRescues((list) => list.filter((a) => a.requestId !== id))}
          />
        )}
        {alerts.length > 0 && (
          <section class="alerts" aria-label="Escalation alerts">
            {alerts.map((a) => (
              <AlertCard
                key={a.key}
                alert={a}
                session={session}
                canRead={canRead}
                operatorName={operatorName(a.operatorId)}
                onOpen={() => (unlockSound(), setOpening(a.callId))}
                onAcknowledge={() => (unlockSound(), setAlerts((list) => list.filter((x) => x.key !== a.key)))}
              />
            ))}
          </section>
        )}
        <Wallboard snapshot={snapshot} />
        {session.user.role === 'supervisor' && <CallbackBoard session={session} />}
        <LiveCalls
          snapshot={snapshot}
          help={help.filter((h) => snapshot?.stats.liveCalls?.some((c) => c.callId === h.callId && !c.supervision))}
          socket={socket}
          me={session.user.id}
          operatorName={operatorName}
          canSupervise={canSupervise}
          voice={canSupervise ? voice : undefined}
        />
        <div class="supervisor-grid">
          <WaitingCalls snapshot={snapshot} />
          <Operators snapshot={snapshot} />
          {canRead && (
            <CallTable
              session={session}
              version={callsVersion}
              title="Recent calls"
              titleId="recent-title"
              class="panel"
              column="status"
              action={{ text: 'Open call', label: (started) => `Open the call of ${started}` }}
              onOpen={setOpening}
              messages={{ empty: 'No calls yet.', loadFailed: 'Calls could not be loaded' }}
            />
          )}
        </div>
        {session.user.role === 'supervisor' && <StatsPanel token={session.token} />}
        {opening && <BreakGlass session={session} callId={opening} onClose={() => setOpening(null)} />}
      </main>
    </div>
  );
}

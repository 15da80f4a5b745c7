import type {
  LiveCallSummary,
  QueueStats,
  RiskLevel,
  SupervisionMode,
  SupervisorClientEvents,
  SupervisorServerEvents,
} from '@hotline/contract';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Socket } from 'socket.io-client';
import { RISK_LABEL, clock, human, spoken } from '../format';
import { AudioStatus } from '../operator/audio-status';
import { useNow } from '../socket';
import { Dialog, ErrorText } from '../ui';
import type { Voice } from '../voice';

export type SupervisorSocket = Socket<SupervisorServerEvents, SupervisorClientEvents>;

/** An operator's help request as the wallboard keeps it (cleared when someone supervises the call). */
export interface HelpRequest {
  callId: string;
  operatorId: string;
  riskLevel: RiskLevel;
  at: number;
}

const MODE_TEXT: Record<SupervisionMode, string> = { listen: 'Listen', coach: 'Coach', join: 'Join' };
const MODE_STATE: Record<SupervisionMode, string> = {
  listen: 'Supervisor listening',
  coach: 'Supervisor coaching',
  join: 'Supervisor joined',
};
const MODE_HINT: Record<SupervisionMode, string> = {
  listen: 'You will hear the call; nobody hears you.',
  coach: 'Only the operator hears you; the caller does not.',
  join: 'The caller and the operator both hear you.',
};

/**
 * Live calls (in a conference): who has each, on hold for how long, who supervises, help asked;
 * Listen, Coach or Join a call, each with a stated reason (audited like a break-glass read).
 *
 * The supervisor hears the call through their browser (`voice`, absent for admins): the device
 * registers when they press Listen, Coach or Join, before the gateway is asked (it dials the leg at
 * once), and goes when they leave, when its leg ends, or when the call is no longer theirs on the
 * wallboard. One call at a time, as one browser leg at a time. With no audio configured (the demo)
 * they still supervise, and the audio state says it is not configured.
 */
export function LiveCalls(props: {
  snapshot: { stats: QueueStats; at: number } | null;
  help: HelpRequest[];
  socket: SupervisorSocket;
  me: string;
  operatorName: (id: string) => string;
  canSupervise: boolean;
  voice?: Voice;
}) {
  const { voice } = props;
  const now = useNow();
  const calls = props.snapshot?.stats.liveCalls ?? [];
  const elapsed = props.snapshot ? (now - props.snapshot.at) / 1000 : 0;
  const [asking, setAsking] = useState<{ callId: string; mode: SupervisionMode } | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** The call this supervisor asked to supervise, and whether the wallboard has shown it theirs since. */
  const [watching, setWatching] = useState<{ callId: string; seen: boolean } | null>(null);
  const supervising = calls.find((c) => c.supervision?.supervisorId === props.me)?.callId ?? null;

  /** Off the call: its legs not taken any more, the browser audio let go. */
  const off = (callId: string) => {
    voice?.callOver(callId);
    voice?.stop();
    setWatching((w) => (w?.callId === callId ? null : w));
  };

  // Off the call by the wallboard's account (the call ended, or another way off it): the audio goes too.
  useEffect(() => {
    if (!watching) return;
    const c = calls.find((x) => x.callId === watching.callId);
    const mine = c?.supervision?.supervisorId === props.me;
    if (mine && !watching.seen) setWatching({ ...watching, seen: true });
    else if (!c || (!mine && watching.seen)) off(watching.callId);
  }, [calls, watching, props.me]);

  const stop = async (callId: string) => {
    setError(null);
    try {
      const res = await (props.socket as any).timeout(8000).emitWithAck('call:unsupervise', { callId });
      if (!res.ok) setError(`Could not leave the call: ${human(res.error)}.`);
      if (res.ok || res.error === 'not_supervising') off(callId);
    } catch {
      setError('Could not leave the call: no answer from the server.');
    }
  };

  const helpFor = (c: LiveCallSummary) => props.help.find((h) => h.callId === c.callId);
  return (
    <section class="panel live-calls" aria-labelledby="live-calls-title">
      <h2 id="live-calls-title">Live calls</h2>
      {voice && <AudioStatus view={voice.view} onToggleMute={voice.toggleMute} who="supervisor" />}
      <ErrorText error={error} />
      {calls.length === 0 ? (
        <p class="muted">No call in progress.</p>
      ) : (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Operator</th>
              <th scope="col">State</th>
              <th scope="col">Help</th>
              <th scope="col">Supervise</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c, i) => {
              const help = helpFor(c);
              const name = c.operatorId ? props.operatorName(c.operatorId) : 'an external service';
              const mine = c.supervision?.supervisorId === props.me;
              // One call at a time: while on one call (or asking to be), the others wait.
              const elsewhere = (supervising !== null && supervising !== c.callId) || (!!watching && watching.callId !== c.callId);
              return (
                <tr key={c.callId} class={help && !c.supervision ? 'help-row' : ''}>
                  <td>
                    {name} <span class="muted">(call {i + 1})</span>
                  </td>
                  <td>
                    {c.onHoldSeconds !== null ? (
                      <span class="state state-hold" aria-label={`Caller on hold for ${spoken(c.onHoldSeconds + elapsed)}`}>
                        On hold {clock(c.onHoldSeconds + elapsed)}
                      </span>
                    ) : (
                      <span class="state state-on_call">Talking</span>
                    )}
                    {c.transferring && <span class="state"> Transferring</span>}
                    {c.supervision && <span class="state"> {MODE_STATE[c.supervision.mode]}</span>}
                  </td>
                  <td>
                    {help || c.helpWaitingSeconds !== null ? (
                      <span class="help-flag" role="status">
                        Help asked {clock((c.helpWaitingSeconds ?? 0) + elapsed)} ago
                        {help ? `, risk ${RISK_LABEL[help.riskLevel].toLowerCase()}` : ''}
                      </span>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td class="actions">
                    {props.canSupervise &&
                      (['listen', 'coach', 'join'] as const).map((mode) => (
                        <button
                          key={mode}
                          type="button"
                          class="button small"
                          aria-label={`${MODE_TEXT[mode]} to the call of ${name}`}
                          disabled={(!!c.supervision && !mine) || (mine && c.supervision?.mode === mode) || elsewhere}
                          onClick={() => setAsking({ callId: c.callId, mode })}
                        >
                          {MODE_TEXT[mode]}
                        </button>
                      ))}
                    {mine && (
                      <button
                        type="button"
                        class="button small quiet"
                        aria-label={`Leave the call of ${name}`}
                        onClick={() => void stop(c.callId)}
                      >
                        Leave
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {asking && (
        <ReasonDialog
          {...asking}
          socket={props.socket}
          voice={voice}
          onStarted={() => setWatching((w) => (w?.callId === asking.callId ? w : { callId: asking.callId, seen: false }))}
          onRefused={() => {
            // Refused: the audio goes, unless it serves the call this supervisor is already on.
            if (supervising !== asking.callId && watching?.callId !== asking.callId) off(asking.callId);
          }}
          onClose={() => setAsking(null)}
        />
      )}
    </section>
  );
}

/**
 * The stated reason, asked every time (it goes to the audit trail with who, which call and how).
 * The browser audio registers first (the gateway dials the supervisor's leg as soon as it agrees).
 */
function ReasonDialog(props: {
  callId: string;
  mode: SupervisionMode;
  socket: SupervisorSocket;
  voice?: Voice;
  onStarted: () => void;
  onRefused: () => void;
  onClose: () => void;
}) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<'audio' | 'asking' | null>(null);
  // Closed while the audio was being set up: nothing is asked of the server.
  const closed = useRef(false);
  useEffect(
    () => () => {
      closed.current = true;
    },
    [],
  );
  return (
    <Dialog title={`${MODE_TEXT[props.mode]}: why?`} onClose={props.onClose}>
      <form
        class="form"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            if (props.voice) {
              setBusy('audio');
              // Not configured (the demo): supervise all the same; the audio state says so.
              if ((await props.voice.start()) === 'unavailable') {
                setError(
                  'Your browser’s audio could not be set up (see Audio above), so you would not hear the call: nothing was started.',
                );
                return;
              }
              if (closed.current) return props.onRefused();
            }
            setBusy('asking');
            const res = await (props.socket as any)
              .timeout(8000)
              .emitWithAck('call:supervise', { callId: props.callId, mode: props.mode, reason: reason.trim() });
            if (res.ok) {
              props.onStarted();
              props.onClose();
            } else {
              // The gateway starts nothing it could not write to the audit trail first (MySQL away or slow).
              setError(
                res.error === 'audit_unavailable'
                  ? 'The listen-in could not be recorded in the audit trail, so nothing was started or changed; try again.'
                  : `Refused: ${human(res.error)}.`,
              );
              props.onRefused();
            }
          } catch {
            setError('No answer from the server.');
            props.onRefused();
          } finally {
            setBusy(null);
          }
        }}
      >
        <p class="muted">{MODE_HINT[props.mode]} Your reason is recorded in the audit trail, as for opening a call record.</p>
        <label for="supervise-reason">Reason</label>
        <textarea
          id="supervise-reason"
          required
          minLength={3}
          maxLength={500}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
        <ErrorText error={error} />
        <p class="muted" role="status">
          {busy === 'audio' ? 'Connecting your browser’s audio…' : busy === 'asking' ? 'Asking the server…' : ''}
        </p>
        <div class="form-actions">
          <button type="submit" class="button primary" disabled={busy !== null || reason.trim().length < 3}>
            {MODE_TEXT[props.mode]}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

import { NAMESPACES, OperatorClientEvents, OperatorServerEvents, OperatorStatus } from '@hotline/contract';
import { useCallback, useState } from 'preact/hooks';
import { STATUS_LABEL, human } from '../format';
import { Session, loadStored, store } from '../session';
import { useSocket, useSocketEvents } from '../socket';
import { offerCue, unlockSound } from '../sound';
import { TopBar } from '../ui';
import { useVoice } from '../voice';
import { AudioStatus } from './audio-status';
import { CallbackList } from './callback-list';
import { CallPanel } from './call-panel';
import type { Targets } from './call-controls';
import { LiveCall, Offer, ask } from './live';
import { MyCalls } from './my-calls';
import { OfferPanel } from './offer-panel';

/**
 * The operator's console: the Available switch, an offer when one comes, the live call and its
 * wrap-up; beside them the operator's own calls. Live state comes over the `/operator` namespace.
 */
export function OperatorView(props: { session: Session; onSignOut: () => void; onRefused: (m: string) => void }) {
  const { session } = props;
  const { socket, state } = useSocket<OperatorServerEvents, OperatorClientEvents>(NAMESPACES.operator, session.token, props.onRefused);
  const [status, setStatus] = useState<OperatorStatus | null>(null);
  const [offer, setOffer] = useState<Offer | null>(null);
  const [call, setCallState] = useState<LiveCall | null>(() => loadStored<LiveCall>('call'));
  const [notice, setNotice] = useState<string | null>(null);
  const [historyVersion, setHistoryVersion] = useState(0);
  const [targets, setTargets] = useState<Targets | null>(null);
  const voice = useVoice({ token: session.token, staffId: session.user.id });
  const { announce, callOver } = voice;

  const setCall = useCallback((update: LiveCall | null | ((c: LiveCall | null) => LiveCall | null)) => {
    setCallState((current) => {
      const next = typeof update === 'function' ? update(current) : update;
      store('call', next);
      return next;
    });
  }, []);

  useSocketEvents(
    socket,
    () => ({
      status: ({ status: s, reason }) => {
        setStatus(s);
        if (s !== 'offered') setOffer(null);
        if (s === 'available' || s === 'away') setCall(null);
        if (s === 'away' && reason) setNotice(`You are now Away: ${human(reason)}. Switch Available back on when you are ready.`);
      },
      'call:offered': (p) => {
        setOffer({ callId: p.callId, expiresAt: Date.parse(p.offerExpiresAt), waitingSeconds: p.waitingSeconds, receivedAt: Date.now() });
        setNotice(null);
        offerCue();
      },
      'call:offer_revoked': ({ callId, reason }) => {
        setOffer((o) => (o?.callId === callId ? null : o));
        setNotice(`The call offer was withdrawn: ${human(String(reason))}.`);
      },
      'call:connected': ({ callId, caller }) => {
        setOffer(null);
        setNotice(null);
        setCall((c) => (c?.callId === callId ? c : { callId, connectedAt: Date.now(), caller }));
      },
      'call:ended': ({ callId }) => {
        setCall((c) => (c && c.callId === callId && !c.endedAt ? { ...c, endedAt: Date.now() } : c));
        setHistoryVersion((v) => v + 1);
        callOver(callId);
      },
      // A browser leg is about to ring (an accepted offer, a colleague's transfer, a callback): the voice leg takes it.
      'voice:leg': (a) => announce(a),
      'transfer:targets': (p) => setTargets(p),
      connect: () => setHistoryVersion((v) => v + 1),
      // A supervisor handed calls to or from this operator: the list of their calls changed.
      'calls:reassigned': () => setHistoryVersion((v) => v + 1),
    }),
    [setCall, announce, callOver],
  );

  const available = status !== null && status !== 'away';
  const busy = status === 'offered' || status === 'on_call' || status === 'wrap_up';

  const toggle = async () => {
    unlockSound();
    const want = available ? 'away' : 'available';
    try {
      const res = await ask(socket, 'status:set', { status: want });
      if (res.ok && res.status) setStatus(res.status);
      if (!res.ok) setNotice(`Could not change your status: ${res.error ?? 'refused'}.`);
      else setNotice(null);
    } catch {
      setNotice('Could not change your status: no answer from the server. Check the connection.');
    }
  };

  return (
    <div class="shell">
      <TopBar session={session} connection={state} onSignOut={props.onSignOut} title="Operator" />
      <main class={call ? 'operator-grid on-call' : 'operator-grid'}>
        <section class="column" aria-label="Calls">
          <div class="panel status-panel">
            <button
              type="button"
              role="switch"
              aria-checked={available}
              class={`switch ${available ? 'on' : ''}`}
              disabled={state !== 'connected' || status === null || busy}
              onClick={toggle}
            >
              <span class="switch-track" aria-hidden="true">
                <span class="switch-thumb" />
              </span>
              <span class="switch-label">Available</span>
            </button>
            <p class="status-text" aria-live="polite">
              {status === null ? 'Waiting for the server…' : `You are: ${STATUS_LABEL[status] ?? status}`}
            </p>
            <AudioStatus view={voice.view} onToggleMute={voice.toggleMute} />
          </div>
          <div class="live" aria-live="polite">
            {notice && (
              <p class="notice" role="status">
                {notice}
                <button type="button" class="link" onClick={() => setNotice(null)}>
                  Dismiss
                </button>
              </p>
            )}
          </div>
          <div class="live" aria-live="assertive">
            {offer && !call && (
              <OfferPanel
                key={offer.callId}
                offer={offer}
                socket={socket}
                audio={voice.view}
                onDone={(message) => (setOffer(null), message && setNotice(message))}
              />
            )}
          </div>
          {call ? (
            <CallPanel
              key={call.callId}
              call={call}
              session={session}
              socket={socket}
              targets={targets}
              onWrappedUp={() => {
                setCall(null);
                setHistoryVersion((v) => v + 1);
              }}
            />
          ) : (
            !offer && (
              <div class="panel empty">
                <p>
                  {available
                    ? 'No call right now. An incoming call will appear here with a sound.'
                    : 'Switch Available on to receive calls.'}
                </p>
              </div>
            )
          )}
        </section>
        <div class="column">
          <CallbackList
            session={session}
            busy={busy}
            beforeDial={async () => {
              // No live call is offered while calling someone back: Away first (switch Available back on after).
              if (status !== 'available') return;
              const res = await ask(socket, 'status:set', { status: 'away' });
              if (res.ok && res.status) setStatus(res.status);
            }}
          />
          <MyCalls session={session} version={historyVersion} />
        </div>
      </main>
    </div>
  );
}

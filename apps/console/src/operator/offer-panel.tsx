import { useEffect, useRef, useState } from 'preact/hooks';
import { clock, human } from '../format';
import { useNow } from '../socket';
import type { AudioView } from '../voice';
import { Offer, OperatorSocket, ask } from './live';

/**
 * What the operator waits for between Accept and the call: the gateway has Twilio ring their
 * browser, and the call is theirs once that leg answers (`call:connected`). Said as it is: ringing
 * only once it rings; without browser audio, the call comes by phone routing.
 */
function connectingText(audio: AudioView): string {
  switch (audio.state) {
    case 'ringing':
      return 'Connecting: your browser is ringing…';
    case 'on_call':
    case 'reconnecting':
      return 'Connecting: your browser has answered; joining you to the caller…';
    case 'not_configured':
      return 'Connecting: the call is being put through to you…';
    case 'unavailable':
      return `Connecting, but this browser’s audio is unavailable (${audio.reason ?? 'voice service error'}): if the call cannot reach you, the caller goes back to the queue.`;
    default:
      return 'Connecting: waiting for your browser to ring…';
  }
}

/**
 * An incoming call: a countdown, Accept (which takes the focus, so Enter answers) and Decline; once
 * accepted, that it is connecting (the focus moves to it) until the call connects or goes back.
 */
export function OfferPanel(props: { offer: Offer; socket: OperatorSocket; audio: AudioView; onDone: (message?: string) => void }) {
  const { offer, socket } = props;
  const now = useNow(250);
  const [pending, setPending] = useState(false);
  const [accepted, setAccepted] = useState(false);
  const acceptRef = useRef<HTMLButtonElement>(null);
  const connectingRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => acceptRef.current?.focus(), [offer.callId]);
  // Accept is gone once accepted: the focus goes to what replaced it, not to the page.
  useEffect(() => {
    if (accepted) connectingRef.current?.focus();
  }, [accepted]);

  const total = Math.max(1, offer.expiresAt - offer.receivedAt);
  const left = Math.max(0, offer.expiresAt - now);
  const waited = offer.waitingSeconds + (now - offer.receivedAt) / 1000;

  const answer = async (event: 'call:accept' | 'call:decline') => {
    setPending(true);
    try {
      const res = await ask(socket, event, { callId: offer.callId });
      if (!res.ok)
        props.onDone(`The call could not be ${event === 'call:accept' ? 'accepted' : 'declined'}: ${human(res.error ?? 'refused')}.`);
      else if (event === 'call:decline') props.onDone();
      else setAccepted(true);
    } catch {
      props.onDone('No answer from the server. The offer may have lapsed.');
    } finally {
      setPending(false);
    }
  };

  if (accepted)
    return (
      <section class="panel offer connecting" aria-labelledby="offer-title">
        <h2 id="offer-title" tabIndex={-1} ref={connectingRef}>
          Connecting the call
        </h2>
        <p class="connecting-text">{connectingText(props.audio)}</p>
      </section>
    );

  return (
    <section class="panel offer" aria-labelledby="offer-title">
      <h2 id="offer-title">Incoming call</h2>
      <p class="offer-wait">
        Caller waiting <strong>{clock(waited)}</strong>
      </p>
      <div class="countdown">
        <div class="countdown-bar" aria-hidden="true">
          <div class="countdown-fill" style={{ width: `${(left / total) * 100}%` }} />
        </div>
        <span role="timer" aria-label={`Offer ends in ${Math.ceil(left / 1000)} seconds`}>
          {left > 0 ? `Answer within ${Math.ceil(left / 1000)} s` : 'Offer lapsing…'}
        </span>
      </div>
      <div class="actions">
        <button ref={acceptRef} type="button" class="button primary big" disabled={pending} onClick={() => answer('call:accept')}>
          Accept
        </button>
        <button type="button" class="button big" disabled={pending} onClick={() => answer('call:decline')}>
          Decline
        </button>
      </div>
    </section>
  );
}

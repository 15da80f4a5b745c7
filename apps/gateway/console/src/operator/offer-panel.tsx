import { useEffect, useRef, useState } from 'preact/hooks';
import { clock, human } from '../format';
import { useNow } from '../socket';
import { Offer, OperatorSocket, ask } from './live';

/** An incoming call: a countdown, Accept (which takes the focus, so Enter answers) and Decline. */
export function OfferPanel(props: {
  offer: Offer;
  socket: OperatorSocket;
  onAccepting: (outcome: Promise<boolean>) => void;
  onDone: (message?: string) => void;
}) {
  const { offer, socket } = props;
  const now = useNow(250);
  const [pending, setPending] = useState(false);
  const acceptRef = useRef<HTMLButtonElement>(null);
  useEffect(() => acceptRef.current?.focus(), [offer.callId]);

  const total = Math.max(1, offer.expiresAt - offer.receivedAt);
  const left = Math.max(0, offer.expiresAt - now);
  const waited = offer.waitingSeconds + (now - offer.receivedAt) / 1000;

  const answer = async (event: 'call:accept' | 'call:decline') => {
    setPending(true);
    try {
      const asked = ask(socket, event, { callId: offer.callId });
      if (event === 'call:accept') props.onAccepting(asked.then((r) => r.ok));
      const res = await asked;
      if (!res.ok)
        props.onDone(`The call could not be ${event === 'call:accept' ? 'accepted' : 'declined'}: ${human(res.error ?? 'refused')}.`);
      else if (event === 'call:decline') props.onDone();
    } catch {
      props.onDone('No answer from the server. The offer may have lapsed.');
    } finally {
      setPending(false);
    }
  };

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

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, logout } from '../api';
import { Session, loadStored } from '../session';
import { SignedIn, isChallenge, loginStep, sendFactor } from './account-api';
import { message } from './sign-in-steps';

const ACTIVITY = ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart'] as const;

/** An operator's call that is still live (stored by the operator view): the console never locks then. */
function onLiveCall(): boolean {
  const call = loadStored<{ callId: string; endedAt?: number }>('call');
  return !!call && !call.endedAt;
}

/**
 * Locks the console after `idleSeconds` without input, unless a call is live. While locked the
 * view is unmounted, so no call content stays on the page (nor its live connection); unlocking
 * needs the member's password, and their second factor when their role has one. Unlocking signs in
 * afresh (a new session) and ends the old one.
 */
export function IdleLock(props: {
  session: Session;
  idleSeconds: number;
  onUnlocked: (s: SignedIn) => void;
  onSignOut: () => void;
  children: any;
}) {
  const [locked, setLocked] = useState(false);
  const last = useRef(Date.now());

  useEffect(() => {
    if (locked) return;
    const seen = () => (last.current = Date.now());
    for (const e of ACTIVITY) window.addEventListener(e, seen, { passive: true });
    const timer = setInterval(() => {
      if (onLiveCall()) last.current = Date.now();
      else if (Date.now() - last.current >= props.idleSeconds * 1000) setLocked(true);
    }, 1000);
    return () => {
      for (const e of ACTIVITY) window.removeEventListener(e, seen);
      clearInterval(timer);
    };
  }, [locked, props.idleSeconds]);

  if (!locked) return props.children;
  return (
    <LockScreen
      session={props.session}
      onUnlocked={(s) => {
        last.current = Date.now();
        setLocked(false);
        props.onUnlocked(s);
      }}
      onSignOut={props.onSignOut}
    />
  );
}

function LockScreen(props: { session: Session; onUnlocked: (s: SignedIn) => void; onSignOut: () => void }) {
  const [password, setPassword] = useState('');
  const [challenge, setChallenge] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { username } = props.session.user;

  const done = (s: SignedIn) => {
    // The locked session ends: the unlocked console goes on under a fresh one.
    void logout(props.session.token).catch(() => undefined);
    props.onUnlocked(s);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (challenge) done(await sendFactor(challenge, code.trim()));
      else {
        const answer = await loginStep(username, password);
        setPassword('');
        if (isChallenge(answer)) setChallenge(answer.challenge);
        else done(answer);
      }
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? challenge
            ? 'That code is not right.'
            : 'That password is not right.'
          : message(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="signin locked">
      <form class="card" onSubmit={submit} aria-labelledby="lock-title">
        <h1 id="lock-title">Console locked</h1>
        <p role="status">
          The console locked itself after a while without use. {username}, enter your {challenge ? 'code' : 'password'} to go on.
        </p>
        {challenge ? (
          <>
            <label for="unlock-code">Code</label>
            <input
              id="unlock-code"
              autocomplete="one-time-code"
              required
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
              autoFocus
            />
          </>
        ) : (
          <>
            <label for="unlock-password">Password</label>
            <input
              id="unlock-password"
              type="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
              autoFocus
            />
          </>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="submit" class="button primary" disabled={busy}>
            Unlock
          </button>
          <button type="button" class="button quiet" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </form>
    </main>
  );
}

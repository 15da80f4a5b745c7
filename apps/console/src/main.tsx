import { render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, logout, setAgreementRequiredHandler, setLockedHandler, setUnauthorizedHandler } from './api';
import { LoginAnswer, Me, SignedIn, fetchMe, lockSession, loginStep } from './account/account-api';
import { AccountButton, changingOwnPassword } from './account/account-panel';
import { IdleLock, onLiveCall } from './account/idle-lock';
import { AgreementStep, SignInSteps } from './account/sign-in-steps';
import { AdminView } from './admin/admin-view';
import { dateTime } from './format';
import { OperatorView } from './operator/operator-view';
import { Session, clearSession, loadSession, saveSession } from './session';
import { reconnectConsoles } from './socket';
import { unlockSound } from './sound';
import { HandoverButton } from './supervisor/handover';
import { SupervisorView } from './supervisor/supervisor-view';
import { RecordsOfficerView } from './records-officer/records-officer-view';
import { AuditorView } from './auditor/auditor-view';
import { WithHeaderActions } from './ui';

/** While the console is open and unlocked it asks records this often who it is: a use of the session, and news of a lock or an agreement. */
const HEARTBEAT_MS = 60_000;

function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);
  /** What the sign-in said about the sign-ins before it, shown until dismissed or signed out. */
  const [report, setReport] = useState<SignInReport | null>(null);
  /**
   * Whether records says this session is locked: null until it has answered (a reloaded page shows
   * nothing of the console before it knows).
   */
  const [locked, setLocked] = useState<boolean | null>(() => (loadSession() ? null : false));
  const lockedRef = useRef(locked);
  lockedRef.current = locked;
  const [me, setMe] = useState<Me | null>(null);

  const signOut = useCallback((why?: string) => {
    clearSession();
    setSession(null);
    setReport(null);
    setLocked(false);
    setMe(null);
    setNotice(why ?? null);
  }, []);

  useEffect(() => setUnauthorizedHandler(() => signOut('Your session has ended. Please sign in again.')), [signOut]);
  /** A new version of the agreement was published while signed in: nothing else until it is accepted. */
  const [agreementDue, setAgreementDue] = useState(false);
  useEffect(() => setAgreementRequiredHandler(() => setAgreementDue(true)), []);
  /** Records says this session is locked (locked in another tab of it, say): the lock shows here too. */
  useEffect(() => setLockedHandler(() => setLocked(true)), []);

  // Records is asked at start (a reload shows the lock) and every minute while unlocked (the session is in use).
  const token = session?.token;
  useEffect(() => {
    if (!token) return;
    let gone = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const ask = () =>
      fetchMe(token).then(
        (m) => {
          if (gone) return;
          setMe(m);
          // Records' answer may lock the page, never unlock it (an answer sent before this page locked arrives after): unlocking is the password's.
          setLocked((was) => (was === null ? m.locked : was || m.locked));
        },
        (e) => {
          if (gone || lockedRef.current !== null) return;
          // 403 agreement_required: not locked (records checks the lock first); the agreement shows. Otherwise try again shortly.
          if (e instanceof ApiError && e.status === 403 && e.code === 'agreement_required') setLocked(false);
          else if (!(e instanceof ApiError && e.status === 401)) retry = setTimeout(ask, 3000);
        },
      );
    void ask();
    const beat = setInterval(() => {
      if (lockedRef.current === false) void ask();
    }, HEARTBEAT_MS);
    return () => {
      gone = true;
      clearInterval(beat);
      if (retry) clearTimeout(retry);
    };
  }, [token]);

  const lockNow = useCallback(() => {
    setLocked(true);
    // The server's lock: records refuses this session's requests, the gateway its sockets, until it is unlocked.
    if (token) void lockSession(token).catch(() => undefined);
  }, [token]);

  useEffect(() => {
    if (!session?.expiresAt) return;
    const t = setTimeout(() => signOut('Your session has ended. Please sign in again.'), Math.max(0, session.expiresAt - Date.now()));
    return () => clearTimeout(t);
  }, [session, signOut]);

  if (!session) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(s, r) => {
          setNotice(null);
          setReport(r);
          setLocked(false);
          setSession(s);
        }}
      />
    );
  }
  if (locked === null)
    return (
      <main class="signin">
        <section class="card">
          <h1>Hotline console</h1>
          <p role="status">Checking your session…</p>
        </section>
      </main>
    );
  const refused = (message: string) =>
    message === 'agreement_required'
      ? setAgreementDue(true)
      : message === 'locked'
        ? setLocked(true)
        : changingOwnPassword()
          ? undefined
          : signOut(`The live connection was refused (${message}). Please sign in again.`);
  // Signing out ends the session on the server too; the page signs out whatever the answer.
  const signOutHere = () => {
    void logout(session.token).catch(() => undefined);
    signOut();
  };
  const view = () => {
    switch (session.user.role) {
      case 'operator':
        return <OperatorView session={session} onSignOut={signOutHere} onRefused={refused} />;
      case 'admin':
        return <AdminView session={session} onSignOut={signOutHere} onRefused={refused} />;
      case 'supervisor':
        return <SupervisorView session={session} onSignOut={signOutHere} onRefused={refused} />;
      case 'records_officer':
        return <RecordsOfficerView session={session} onSignOut={signOutHere} />;
      case 'auditor':
        return <AuditorView session={session} onSignOut={signOutHere} />;
      default:
        return (
          <main class="signin">
            <div class="card">
              <h1>Hotline</h1>
              <p>
                The console is for operators and supervisors. Your role ({String(session.user.role).replace('_', ' ')}) works through the
                records service.
              </p>
              <button type="button" class="button" onClick={() => signOut()}>
                Sign out
              </button>
            </div>
          </main>
        );
    }
  };
  const agreed = () => {
    setAgreementDue(false);
    // The view stayed up (a live call): its sockets, closed by the server for the agreement, connect again.
    reconnectConsoles();
  };
  // Nothing else until the new agreement is accepted; on a live call the view stays mounted under it (its voice leg with it).
  const liveCall = onLiveCall();
  // A lock comes first: the agreement shows once the console is unlocked (records serves nothing else meanwhile).
  if (agreementDue && !liveCall && !locked) return <AgreementStep token={session.token} onAccepted={agreed} onCancel={signOutHere} />;
  return (
    <IdleLock
      session={session}
      idleSeconds={me?.idleLockSeconds ?? session.idleLockSeconds ?? 600}
      locked={locked}
      factors={me?.factors ?? null}
      onLock={lockNow}
      onUnlocked={() => setLocked(false)}
      onSignOut={signOutHere}
    >
      {agreementDue && !locked && (
        <div
          class="agreement-overlay"
          role="dialog"
          aria-modal="true"
          aria-label="Confidentiality agreement"
          style={{ position: 'fixed', inset: 0, zIndex: 50, overflowY: 'auto' }}
        >
          <AgreementStep token={session.token} onAccepted={agreed} onCancel={signOutHere} />
        </div>
      )}
      <div inert={agreementDue || undefined} aria-hidden={agreementDue || undefined}>
        {report && <SignInReportLine report={report} onDismiss={() => setReport(null)} />}
        <WithHeaderActions
          actions={
            <>
              {session.user.role === 'supervisor' && <HandoverButton session={session} />}
              <AccountButton
                session={session}
                onNewToken={(token) => setSession(saveSession(token, session.user, session.idleLockSeconds))}
              />
            </>
          }
        >
          {view()}
        </WithHeaderActions>
      </div>
    </IdleLock>
  );
}

interface SignInReport {
  lastSignInAt: string | null;
  failedAttemptsSince: number;
}

/**
 * "Last sign-in: today 09:12. 3 failed attempts since." Failures the member did not make mean
 * someone is guessing their password: they are told, and whom to tell.
 */
function SignInReportLine(props: { report: SignInReport; onDismiss: () => void }) {
  const { lastSignInAt, failedAttemptsSince: n } = props.report;
  const failures = n === 0 ? 'No failed attempts' : n === 1 ? '1 failed attempt' : `${n} failed attempts`;
  const text = lastSignInAt
    ? `Last sign-in: ${dateTime(lastSignInAt)}. ${failures} since.`
    : `First sign-in to this account. ${failures} before it.`;
  return (
    <div class={n > 0 ? 'notice signin-report warned' : 'notice signin-report'} role="status">
      <span>
        {text}
        {n > 0 && ' If they were not yours, tell an admin.'}
      </span>
      <button type="button" class="button quiet" onClick={props.onDismiss}>
        Dismiss
      </button>
    </div>
  );
}

function SignIn(props: { notice: string | null; onSignedIn: (s: Session, report: SignInReport | null) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** A right password: the second factor, a new password and the agreement follow (account/sign-in-steps). */
  const [answer, setAnswer] = useState<LoginAnswer | null>(null);

  const finish = (res: SignedIn) => {
    const report =
      typeof res.failedAttemptsSince === 'number'
        ? { lastSignInAt: res.lastSignInAt ?? null, failedAttemptsSince: res.failedAttemptsSince }
        : null;
    props.onSignedIn(saveSession(res.accessToken, res.user, res.idleLockSeconds), report);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    unlockSound();
    setBusy(true);
    setError(null);
    try {
      setAnswer(await loginStep(username.trim(), password));
    } catch (err) {
      setError(signInError(err));
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  if (answer)
    return (
      <SignInSteps
        start={answer}
        password={password}
        onDone={finish}
        onCancel={() => {
          setAnswer(null);
          setPassword('');
        }}
      />
    );

  return (
    <main class="signin">
      <form class="card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Hotline console</h1>
        {props.notice && (
          <p class="notice" role="status">
            {props.notice}
          </p>
        )}
        <label for="username">Username</label>
        <input
          id="username"
          name="username"
          autocomplete="username"
          required
          value={username}
          onInput={(e) => setUsername(e.currentTarget.value)}
          autoFocus
        />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function signInError(err: unknown): string {
  if (!(err instanceof ApiError)) return 'Sign-in failed. Try again.';
  switch (err.status) {
    case 401:
      return 'The username or password is not right.';
    case 429:
      return `Too many attempts. ${err.retryAfterSeconds ? `Try again in ${err.retryAfterSeconds} seconds.` : 'Wait a little, then try again.'}`;
    case 423:
      return `${err.message.charAt(0).toUpperCase()}${err.message.slice(1)}.`;
    case 0:
      return err.message;
    default:
      return `Sign-in failed: ${err.message}`;
  }
}

render(<App />, document.getElementById('app')!);

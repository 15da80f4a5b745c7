import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, logout, setAgreementRequiredHandler, setUnauthorizedHandler } from './api';
import { LoginAnswer, SignedIn, loginStep } from './account/account-api';
import { AccountButton, changingOwnPassword } from './account/account-panel';
import { IdleLock } from './account/idle-lock';
import { AgreementStep, SignInSteps } from './account/sign-in-steps';
import { AdminView } from './admin/admin-view';
import { dateTime } from './format';
import { OperatorView } from './operator/operator-view';
import { Session, clearSession, loadSession, saveSession } from './session';
import { unlockSound } from './sound';
import { HandoverButton } from './supervisor/handover';
import { SupervisorView } from './supervisor/supervisor-view';
import { RecordsOfficerView } from './records-officer/records-officer-view';
import { AuditorView } from './auditor/auditor-view';

function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);
  /** What the sign-in said about the sign-ins before it, shown until dismissed or signed out. */
  const [report, setReport] = useState<SignInReport | null>(null);

  const signOut = useCallback((why?: string) => {
    clearSession();
    setSession(null);
    setReport(null);
    setNotice(why ?? null);
  }, []);

  useEffect(() => setUnauthorizedHandler(() => signOut('Your session has ended. Please sign in again.')), [signOut]);
  /** A new version of the agreement was published while signed in: nothing else until it is accepted. */
  const [agreementDue, setAgreementDue] = useState(false);
  useEffect(() => setAgreementRequiredHandler(() => setAgreementDue(true)), []);

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
          setSession(s);
        }}
      />
    );
  }
  const refused = (message: string) =>
    message === 'agreement_required'
      ? setAgreementDue(true)
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
  if (agreementDue) return <AgreementStep token={session.token} onAccepted={() => setAgreementDue(false)} onCancel={signOutHere} />;
  return (
    <IdleLock
      session={session}
      idleSeconds={session.idleLockSeconds ?? 600}
      onUnlocked={(s) => setSession(saveSession(s.accessToken, s.user, s.idleLockSeconds))}
      onSignOut={signOutHere}
    >
      {report && <SignInReportLine report={report} onDismiss={() => setReport(null)} />}
      {view()}
      <AccountButton session={session} onNewToken={(token) => setSession(saveSession(token, session.user, session.idleLockSeconds))} />
      {session.user.role === 'supervisor' && <HandoverButton session={session} />}
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

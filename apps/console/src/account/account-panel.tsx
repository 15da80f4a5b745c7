import { startRegistration } from '@simplewebauthn/browser';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { dateTime } from '../format';
import { Session } from '../session';
import { Dialog, ErrorText } from '../ui';
import { Me, addPasskey, changePassword, fetchMe, passkeyRegistrationOptions, stepUp } from './account-api';
import { ReauthForm } from './reauth-form';
import { message } from './sign-in-steps';

/**
 * While this console changes its own password, the server ends every session of the member, this
 * console's sockets included: that ending is expected (a new token follows), not a sign-out.
 */
let changingSince = 0;
export const changingOwnPassword = () => Date.now() - changingSince < 5000;

interface SessionRow {
  sid: string;
  startedAt: string;
  address: string;
  userAgent: string | null;
  lastSeenAt: string | null;
  current: boolean;
}

/**
 * "My account": the member's own active sessions (each can be ended: a console left open elsewhere
 * is disconnected at once), a passkey, and a new password. Changing the password ends every session,
 * this one included; the console goes on with the new token it is given. Adding a passkey, and for a
 * member with a second factor changing the password, need a fresh proof (step-up): when records
 * answers `step_up_required` the dialog asks for the password and code again, then does what was
 * asked.
 */
export function AccountButton(props: { session: Session; onNewToken: (token: string) => void }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="button quiet account-button" onClick={() => setOpen(true)}>
        My account
      </button>
      {open && <AccountDialog session={props.session} onNewToken={props.onNewToken} onClose={() => setOpen(false)} />}
    </>
  );
}

function AccountDialog(props: { session: Session; onNewToken: (token: string) => void; onClose: () => void }) {
  const { token } = props.session;
  const [sessions, setSessions] = useState<SessionRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  /** What to do again once the member has confirmed it is them (step-up). */
  const [stepUpFor, setStepUpFor] = useState<(() => void) | null>(null);
  const [factors, setFactors] = useState<Me['factors'] | null>(null);

  /** Records wants a fresh proof first: ask for it, then `again`. */
  const needsStepUp = (err: unknown, again: () => void): boolean => {
    if (!(err instanceof ApiError && err.code === 'step_up_required')) return false;
    fetchMe(token).then(
      (m) => setFactors(m.factors),
      () => undefined,
    );
    setStepUpFor(() => again);
    return true;
  };

  const load = () =>
    api<{ items: SessionRow[] }>('GET', '/auth/sessions', { token }).then(
      (r) => setSessions(r.items),
      (e) => setError(message(e)),
    );
  useEffect(() => void load(), [token]);

  const end = async (sid: string) => {
    try {
      await api<void>('DELETE', `/auth/sessions/${encodeURIComponent(sid)}`, { token });
      setNotice('That session has ended.');
      await load();
    } catch (e) {
      setError(message(e));
    }
  };
  const doChange = async (currentPassword: string, newPassword: string) => {
    setError(null);
    changingSince = Date.now();
    try {
      const r = await changePassword(token, currentPassword, newPassword);
      setCurrent('');
      setNext('');
      props.onNewToken(r.accessToken);
      setNotice('Your password is changed. Every other session of yours has ended.');
    } catch (err) {
      changingSince = 0;
      if (!needsStepUp(err, () => void doChange(currentPassword, newPassword))) setError(message(err));
    }
  };
  const change = (e: Event) => {
    e.preventDefault();
    void doChange(current, next);
  };

  const newPasskey = async () => {
    setError(null);
    try {
      const optionsJSON = await passkeyRegistrationOptions(token);
      const response = await startRegistration({ optionsJSON });
      await addPasskey(token, response);
      setNotice('Your passkey is added: at your next sign-in you may use it in place of a code.');
    } catch (err) {
      if (needsStepUp(err, () => void newPasskey())) return;
      setError(err instanceof Error && !('status' in err) ? 'No passkey was made (the browser or the device said no).' : message(err));
    }
  };

  return (
    <Dialog title="My account" onClose={props.onClose} wide>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <ErrorText error={error} />
      {stepUpFor && (
        <section aria-labelledby="step-up-title">
          <h3 id="step-up-title">Confirm it is you</h3>
          <p>
            Adding a passkey or changing your password needs your password{factors?.totp ? ' and a code from your app' : ''} again (good for
            a few minutes).
          </p>
          <ReauthForm
            token={token}
            factors={factors}
            idPrefix="step-up"
            submitLabel="Confirm"
            send={(body) => stepUp(token, body)}
            onDone={() => {
              const again = stepUpFor;
              setStepUpFor(null);
              again();
            }}
          >
            <button type="button" class="button quiet" onClick={() => setStepUpFor(null)}>
              Cancel
            </button>
          </ReauthForm>
        </section>
      )}
      <h3>Where you are signed in</h3>
      {sessions === null ? (
        <p role="status">Loading…</p>
      ) : (
        <table class="table" aria-label="Your sessions">
          <thead>
            <tr>
              <th scope="col">Signed in</th>
              <th scope="col">From</th>
              <th scope="col">Last active</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.sid}>
                <td>{dateTime(s.startedAt)}</td>
                <td>
                  {s.address}
                  {s.userAgent ? <span class="muted"> · {s.userAgent.slice(0, 60)}</span> : null}
                </td>
                <td>{s.lastSeenAt ? dateTime(s.lastSeenAt) : '–'}</td>
                <td>
                  {s.current ? (
                    <span class="muted">This console</span>
                  ) : (
                    <button
                      type="button"
                      class="button quiet"
                      aria-label={`End the session signed in ${dateTime(s.startedAt)} from ${s.address}`}
                      onClick={() => end(s.sid)}
                    >
                      End
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {'PublicKeyCredential' in window && (
        <>
          <h3>Passkey</h3>
          <p>A passkey on this device (or a security key) can stand in for the code from your authenticator app.</p>
          <button type="button" class="button" onClick={newPasskey}>
            Add a passkey
          </button>
        </>
      )}
      <h3>Change your password</h3>
      <form onSubmit={change} class="form">
        <label for="account-current">Current password</label>
        <input
          id="account-current"
          type="password"
          autocomplete="current-password"
          required
          value={current}
          onInput={(e) => setCurrent(e.currentTarget.value)}
        />
        <label for="account-new">New password (12 characters or more; a few unrelated words make a strong one)</label>
        <input
          id="account-new"
          type="password"
          autocomplete="new-password"
          required
          value={next}
          onInput={(e) => setNext(e.currentTarget.value)}
        />
        <div class="actions">
          <button type="submit" class="button primary">
            Change password
          </button>
        </div>
      </form>
    </Dialog>
  );
}

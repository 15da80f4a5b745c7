import { startAuthentication } from '@simplewebauthn/browser';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, logout } from '../api';
import {
  FactorChallenge,
  SignedIn,
  acceptAgreement,
  changePassword,
  currentAgreement,
  enrolFactor,
  passkeySignInOptions,
  sendFactor,
  sendPasskey,
} from './account-api';

/**
 * What follows a right password, in order: the second factor (enrolment with a QR code and
 * recovery codes, or a code), a new password when an admin reset it, and the confidentiality
 * agreement when the current version is not accepted yet. Nothing else of the console shows
 * before all are done (records refuses every other request until then anyway).
 */
export function SignInSteps(props: {
  start: FactorChallenge | SignedIn;
  password: string;
  onDone: (s: SignedIn) => void;
  onCancel: () => void;
}) {
  const [signedIn, setSignedIn] = useState<SignedIn | null>('accessToken' in props.start ? props.start : null);
  const [codesSeen, setCodesSeen] = useState(false);
  const [passwordDone, setPasswordDone] = useState(false);

  if (!signedIn) return <FactorStep challenge={props.start as FactorChallenge} onSignedIn={setSignedIn} onCancel={props.onCancel} />;
  if (signedIn.recoveryCodes && !codesSeen) return <RecoveryCodes codes={signedIn.recoveryCodes} onDone={() => setCodesSeen(true)} />;
  if (signedIn.mustChangePassword && !passwordDone)
    return (
      <NewPassword
        token={signedIn.accessToken}
        current={props.password}
        onChanged={(accessToken) => {
          setSignedIn({ ...signedIn, accessToken, mustChangePassword: false });
          setPasswordDone(true);
        }}
      />
    );
  return (
    <AgreementStep
      token={signedIn.accessToken}
      onAccepted={() => props.onDone(signedIn)}
      onCancel={() => {
        // Not accepted: the session just begun ends on the server too.
        void logout(signedIn.accessToken).catch(() => undefined);
        props.onCancel();
      }}
    />
  );
}

function Card(props: { title: string; children: any; wide?: boolean }) {
  return (
    <main class="signin">
      <section class={props.wide ? 'card wide' : 'card'} aria-labelledby="step-title">
        <h1 id="step-title">{props.title}</h1>
        {props.children}
      </section>
    </main>
  );
}

function FactorStep(props: { challenge: FactorChallenge; onSignedIn: (s: SignedIn) => void; onCancel: () => void }) {
  const { challenge } = props.challenge;
  const enrolling = props.challenge.factorRequired === 'enrol';
  const [enrolment, setEnrolment] = useState<{ secret: string; qrDataUrl: string } | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (enrolling) enrolFactor(challenge).then(setEnrolment, (e) => setError(message(e)));
  }, [challenge, enrolling]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await sendFactor(challenge, code.trim()));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? `${cap(err.message)}.` : message(err));
      setCode('');
    } finally {
      setBusy(false);
    }
  };

  const usePasskey = async () => {
    setBusy(true);
    setError(null);
    try {
      const optionsJSON = await passkeySignInOptions(challenge);
      const response = await startAuthentication({ optionsJSON });
      props.onSignedIn(await sendPasskey(challenge, response));
    } catch (err) {
      setError(err instanceof ApiError ? message(err) : 'The passkey was not used. Try again, or enter a code.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title={enrolling ? 'Set up your second factor' : 'Second factor'}>
      {props.challenge.passkey && (
        <button type="button" class="button primary" onClick={usePasskey} disabled={busy}>
          Use a passkey
        </button>
      )}
      <form onSubmit={submit}>
        {enrolling ? (
          <>
            <p>
              Your role signs in with a code from an authenticator app as well as a password. Scan this code with the app (or type the key
              in), then enter the six digits it shows.
            </p>
            {enrolment ? (
              <>
                <img class="qr" src={enrolment.qrDataUrl} alt="QR code to add Hotline to your authenticator app" width={220} height={220} />
                <p>
                  Key: <code data-testid="totp-secret">{enrolment.secret}</code>
                </p>
              </>
            ) : (
              !error && <p role="status">Preparing…</p>
            )}
          </>
        ) : (
          <p>Enter the six digits your authenticator app shows for Hotline, or one of your recovery codes.</p>
        )}
        <label for="factor-code">{enrolling ? 'Code from the app' : 'Code'}</label>
        <input
          id="factor-code"
          name="code"
          autocomplete="one-time-code"
          inputMode={enrolling ? 'numeric' : 'text'}
          required
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
          autoFocus
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="submit" class="button primary" disabled={busy}>
            {busy ? 'Checking…' : enrolling ? 'Confirm and sign in' : 'Sign in'}
          </button>
          <button type="button" class="button quiet" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </Card>
  );
}

function RecoveryCodes(props: { codes: string[]; onDone: () => void }) {
  return (
    <Card title="Your recovery codes">
      <p>Keep these somewhere safe, away from your phone. Each signs you in once if you lose the app. They are shown only now.</p>
      <ul class="recovery-codes" aria-label="Recovery codes">
        {props.codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <button type="button" class="button primary" onClick={props.onDone} autoFocus>
        I have kept them
      </button>
    </Card>
  );
}

function NewPassword(props: { token: string; current: string; onChanged: (token: string) => void }) {
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (next !== again) return setError('The two passwords differ.');
    setBusy(true);
    setError(null);
    try {
      props.onChanged((await changePassword(props.token, props.current, next)).accessToken);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Choose a new password">
      <form onSubmit={submit}>
        <p>An admin reset your password. Choose your own: at least 12 characters; a few unrelated words make a strong one.</p>
        <label for="new-password">New password</label>
        <input
          id="new-password"
          type="password"
          autocomplete="new-password"
          required
          value={next}
          onInput={(e) => setNext(e.currentTarget.value)}
          autoFocus
        />
        <label for="new-password-again">New password again</label>
        <input
          id="new-password-again"
          type="password"
          autocomplete="new-password"
          required
          value={again}
          onInput={(e) => setAgain(e.currentTarget.value)}
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="button primary" disabled={busy}>
          Save and continue
        </button>
      </form>
    </Card>
  );
}

/** The current agreement, to read and accept; skipped at once when it is accepted already (or none is published). */
export function AgreementStep(props: { token: string; onAccepted: () => void; onCancel: () => void }) {
  const [agreement, setAgreement] = useState<{ version: string; text: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    currentAgreement(props.token).then(
      (a) => (a.acceptedAt ? props.onAccepted() : setAgreement(a)),
      (e) => (e instanceof ApiError && e.status === 404 ? props.onAccepted() : setError(message(e))),
    );
  }, [props.token]);
  const accept = async () => {
    if (!agreement) return;
    setBusy(true);
    try {
      await acceptAgreement(props.token, agreement.version);
      props.onAccepted();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Confidentiality agreement" wide>
      {!agreement && !error && <p role="status">Loading…</p>}
      {agreement && (
        <>
          <p class="muted">Version {agreement.version}. Read it through: you accept it personally.</p>
          <div class="agreement-text" tabIndex={0} aria-label="Agreement text">
            {renderMarkdown(agreement.text)}
          </div>
          <div class="actions">
            <button type="button" class="button primary" onClick={accept} disabled={busy}>
              I have read and accept this agreement
            </button>
            <button type="button" class="button quiet" onClick={props.onCancel}>
              Sign out
            </button>
          </div>
        </>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </Card>
  );
}

/** Headings, numbered and bulleted items and paragraphs, as text (never as HTML). **bold** becomes <strong>. */
function renderMarkdown(md: string) {
  const blocks = md.replace(/\r/g, '').split(/\n{2,}/);
  return blocks.map((block, i) => {
    const lines = block.split('\n');
    if (/^#{1,6} /.test(block)) return <h2 key={i}>{inline(block.replace(/^#+ /, ''))}</h2>;
    if (lines.every((l) => /^(\d+\.|[-*]) |^ {2,}/.test(l))) {
      const items: string[] = [];
      for (const l of lines)
        if (/^(\d+\.|[-*]) /.test(l)) items.push(l.replace(/^(\d+\.|[-*]) /, ''));
        else items[items.length - 1] += ' ' + l.trim();
      return (
        <ol key={i}>
          {items.map((t, j) => (
            <li key={j}>{inline(t)}</li>
          ))}
        </ol>
      );
    }
    return <p key={i}>{inline(lines.join(' '))}</p>;
  });
}

function inline(text: string) {
  return text.split(/(\*\*[^*]+\*\*)/).map((part, i) => (part.startsWith('**') ? <strong key={i}>{part.slice(2, -2)}</strong> : part));
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function message(err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? err.message : `${cap(err.message)}.`;
  return 'Something went wrong. Try again.';
}

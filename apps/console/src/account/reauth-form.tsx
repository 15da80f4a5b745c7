import { startAuthentication } from '@simplewebauthn/browser';
import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { Me, Reauth, reauthPasskeyOptions } from './account-api';
import { message } from './sign-in-steps';

/**
 * The member proves it is still them: their password, and their second factor where they have one
 * (a code from the authenticator app or a recovery code, or a passkey), as at sign-in. Unlocking a
 * locked console (POST /auth/unlock) and confirming before adding a passkey or changing the password
 * (step-up, POST /auth/step-up) both use it. Nothing typed is kept once sent.
 */
export function ReauthForm(props: {
  token: string;
  factors: Me['factors'] | null;
  idPrefix: string;
  submitLabel: string;
  send: (body: Reauth) => Promise<unknown>;
  onDone: () => void;
  children?: any;
}) {
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needCode, setNeedCode] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const askCode = needCode || !!props.factors?.totp;
  const passkey = !!props.factors?.passkey && 'PublicKeyCredential' in window;

  const explain = (err: unknown): string => {
    if (err instanceof ApiError && err.status === 400) {
      if (err.code === 'factor_required') {
        setNeedCode(true);
        return 'Enter the code from your authenticator app too.';
      }
      if (/password/.test(err.message)) return 'That password is not right.';
      if (/code/.test(err.message)) return 'That code is not right.';
      if (/passkey/.test(err.message)) return 'The passkey was not accepted.';
    }
    return message(err);
  };

  const go = async (body: Reauth) => {
    setBusy(true);
    setError(null);
    try {
      await props.send(body);
      setPassword('');
      setCode('');
      props.onDone();
    } catch (err) {
      setError(explain(err));
      setCode('');
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    void go(askCode && code.trim() ? { password, code: code.trim() } : { password });
  };

  const usePasskey = async () => {
    if (!password) return setError('Enter your password first, then use your passkey.');
    let response: unknown;
    try {
      response = await startAuthentication({ optionsJSON: await reauthPasskeyOptions(props.token) });
    } catch (err) {
      return setError(err instanceof ApiError ? message(err) : 'The passkey was not used. Try again, or enter a code.');
    }
    await go({ password, passkey: response });
  };

  return (
    <form onSubmit={submit}>
      <label for={`${props.idPrefix}-password`}>Password</label>
      <input
        id={`${props.idPrefix}-password`}
        type="password"
        autocomplete="current-password"
        required
        value={password}
        onInput={(e) => setPassword(e.currentTarget.value)}
        autoFocus
      />
      {askCode && (
        <>
          <label for={`${props.idPrefix}-code`}>Code from your authenticator app (or a recovery code)</label>
          <input
            id={`${props.idPrefix}-code`}
            autocomplete="one-time-code"
            required={!passkey}
            value={code}
            onInput={(e) => setCode(e.currentTarget.value)}
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
          {props.submitLabel}
        </button>
        {passkey && (
          <button type="button" class="button" onClick={usePasskey} disabled={busy}>
            Use a passkey
          </button>
        )}
        {props.children}
      </div>
    </form>
  );
}

import type { OperatorClientEvents, OperatorServerEvents, OperatorStatus, RiskLevel } from '@hotline/events';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Socket } from 'socket.io-client';
import { ApiError, CallDetail, CallSummary, Note, addNote, assess, escalate, getCall, listCalls } from './api';
import { CallDetailView, EscalationList } from './call-detail';
import { RISK_LABEL, STATUS_LABEL, clock, dateTime, human, spoken, timeOfDay } from './format';
import { Session, loadStored, store } from './session';
import { useNow, useSocket } from './socket';
import { offerCue, unlockSound } from './sound';
import { Dialog, ErrorText, TopBar } from './ui';
import { AudioView, audioLabel, useVoice } from './voice';

type OperatorSocket = Socket<OperatorServerEvents, OperatorClientEvents>;
type CallerHint = NonNullable<Parameters<OperatorServerEvents['call:connected']>[0]['caller']>;

interface Offer {
  callId: string;
  expiresAt: number;
  waitingSeconds: number;
  receivedAt: number;
}

interface LiveCall {
  callId: string;
  connectedAt: number;
  caller?: CallerHint;
  endedAt?: number;
}

export const RISK_LEVELS: RiskLevel[] = ['none', 'low', 'moderate', 'high', 'imminent'];

/** What the operator may tick as disclosed; the records service keeps the same list. */
export const DISCLOSABLE_FIELDS: { value: string; label: string }[] = [
  { value: 'caller_location', label: 'Caller’s location' },
  { value: 'caller_name', label: 'Caller’s name' },
  { value: 'phone_number', label: 'Caller’s phone number' },
  { value: 'risk_summary', label: 'Summary of the situation' },
  { value: 'call_time', label: 'Time of the call' },
];

const LEGAL_BASES = [
  'Vital interests: risk to the caller’s life',
  'Vital interests: risk to another person’s life',
  'Safeguarding duty (child or adult at risk)',
  'Legal obligation or court order',
  'Caller consented to the disclosure',
];

const WRAP_UP_CATEGORIES = [
  'Emotional support',
  'Suicidal thoughts',
  'Self-harm',
  'Abuse or violence',
  'Relationships or family',
  'Health or addiction',
  'Information or referral',
  'Silent or dropped call',
  'Other',
];

/** Emits a client event and resolves with its ack (or rejects after a timeout). Typed by the shared map. */
function ask<E extends keyof OperatorClientEvents>(
  socket: OperatorSocket,
  event: E,
  payload: Parameters<OperatorClientEvents[E]>[0],
): Promise<Parameters<Parameters<OperatorClientEvents[E]>[1]>[0]> {
  return (socket as any).timeout(8000).emitWithAck(event, payload);
}

export function OperatorView(props: { session: Session; onSignOut: () => void; onRefused: (m: string) => void }) {
  const { session } = props;
  const { socket, state } = useSocket<OperatorServerEvents, OperatorClientEvents>('/operator', session.token, props.onRefused);
  const [status, setStatus] = useState<OperatorStatus | null>(null);
  const [offer, setOffer] = useState<Offer | null>(null);
  const [call, setCallState] = useState<LiveCall | null>(() => loadStored<LiveCall>('call'));
  const [notice, setNotice] = useState<string | null>(null);
  const [historyVersion, setHistoryVersion] = useState(0);
  const voice = useVoice(session.token);

  const setCall = useCallback((update: LiveCall | null | ((c: LiveCall | null) => LiveCall | null)) => {
    setCallState((current) => {
      const next = typeof update === 'function' ? update(current) : update;
      store('call', next);
      return next;
    });
  }, []);

  useEffect(() => {
    const onStatus: OperatorServerEvents['status'] = ({ status: s, reason }) => {
      setStatus(s);
      if (s !== 'offered') setOffer(null);
      if (s === 'available' || s === 'away') setCall(null);
      if (s === 'away' && reason) setNotice(`You are now Away: ${human(reason)}. Switch Available back on when you are ready.`);
    };
    const onOffered: OperatorServerEvents['call:offered'] = (p) => {
      setOffer({ callId: p.callId, expiresAt: Date.parse(p.offerExpiresAt), waitingSeconds: p.waitingSeconds, receivedAt: Date.now() });
      setNotice(null);
      offerCue();
    };
    const onRevoked: OperatorServerEvents['call:offer_revoked'] = ({ callId, reason }) => {
      setOffer((o) => (o?.callId === callId ? null : o));
      setNotice(`The call offer was withdrawn: ${human(String(reason))}.`);
    };
    const onConnected: OperatorServerEvents['call:connected'] = ({ callId, caller }) => {
      setOffer(null);
      setNotice(null);
      setCall((c) => (c?.callId === callId ? c : { callId, connectedAt: Date.now(), caller }));
    };
    const onEnded: OperatorServerEvents['call:ended'] = ({ callId }) => {
      setCall((c) => (c && c.callId === callId && !c.endedAt ? { ...c, endedAt: Date.now() } : c));
      setHistoryVersion((v) => v + 1);
    };
    const onConnect = () => setHistoryVersion((v) => v + 1);
    socket.on('status', onStatus);
    socket.on('call:offered', onOffered);
    socket.on('call:offer_revoked', onRevoked);
    socket.on('call:connected', onConnected);
    socket.on('call:ended', onEnded);
    socket.on('connect', onConnect);
    return () => {
      socket.off('status', onStatus);
      socket.off('call:offered', onOffered);
      socket.off('call:offer_revoked', onRevoked);
      socket.off('call:connected', onConnected);
      socket.off('call:ended', onEnded);
      socket.off('connect', onConnect);
    };
  }, [socket, setCall]);

  const { setOnCall } = voice;
  useEffect(() => setOnCall(call !== null && call.endedAt === undefined), [call, setOnCall]);

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
          <div class="live" aria-live="assertive">{offer && !call && <OfferPanel offer={offer} socket={socket} onAccepting={voice.accepting} onDone={(message) => (setOffer(null), message && setNotice(message))} />}</div>
          {call ? (
            <CallPanel
              key={call.callId}
              call={call}
              session={session}
              socket={socket}
              onWrappedUp={() => {
                setCall(null);
                setHistoryVersion((v) => v + 1);
              }}
            />
          ) : (
            !offer && (
              <div class="panel empty">
                <p>{available ? 'No call right now. An incoming call will appear here with a sound.' : 'Switch Available on to receive calls.'}</p>
              </div>
            )
          )}
        </section>
        <MyCalls session={session} version={historyVersion} />
      </main>
    </div>
  );
}

function AudioStatus(props: { view: AudioView; onToggleMute: () => void }) {
  const { view } = props;
  const inCall = view.state === 'on_call' || view.state === 'reconnecting';
  return (
    <div class="audio">
      <p class={`audio-status audio-${view.state}`} role="status">
        {audioLabel(view)}
      </p>
      {inCall && (
        <button type="button" class="button quiet" aria-pressed={view.muted} onClick={props.onToggleMute}>
          Mute
        </button>
      )}
    </div>
  );
}

function OfferPanel(props: { offer: Offer; socket: OperatorSocket; onAccepting: (outcome: Promise<boolean>) => void; onDone: (message?: string) => void }) {
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
      if (!res.ok) props.onDone(`The call could not be ${event === 'call:accept' ? 'accepted' : 'declined'}: ${human((res as { error?: string }).error ?? 'refused')}.`);
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

function CallPanel(props: { call: LiveCall; session: Session; socket: OperatorSocket; onWrappedUp: () => void }) {
  const { call, session } = props;
  const now = useNow();
  const [detail, setDetail] = useState<CallDetail | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    // The gateway records who answered as the call connects; give records a moment to catch up.
    for (let attempt = 0; ; attempt++) {
      try {
        setDetail(await getCall(session.token, call.callId));
        setLoadError(null);
        return;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404 && attempt < 8) {
          await new Promise((r) => setTimeout(r, 750));
          continue;
        }
        setLoadError(`The call record could not be loaded: ${(e as Error).message}`);
        return;
      }
    }
  }, [session.token, call.callId]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const risk = (detail?.assessment?.riskLevel ?? detail?.riskLevel ?? null) as RiskLevel | null;
  const ended = call.endedAt !== undefined;
  const seconds = ((call.endedAt ?? now) - call.connectedAt) / 1000;

  return (
    <section class={`panel call ${ended ? 'ended' : ''}`} aria-labelledby="call-title">
      <div class="call-head">
        <div>
          <h2 id="call-title">{ended ? 'Call ended: wrap-up' : 'Call in progress'}</h2>
          <CallerLine caller={call.caller} />
        </div>
        <div class="call-timer">
          <span role="timer" aria-label={`Call length ${spoken(seconds)}`}>
            {clock(seconds)}
          </span>
        </div>
      </div>
      <ErrorText error={loadError} />
      <div class="call-body">
        <Notes session={session} callId={call.callId} notes={detail?.notes ?? []} onSaved={refresh} />
        <div class="call-side">
          <RiskControl session={session} callId={call.callId} value={risk} onSaved={refresh} />
          {(risk === 'imminent' || (detail?.escalations?.length ?? 0) > 0) && (
            <EscalationForm session={session} callId={call.callId} escalations={detail?.escalations ?? []} onSaved={refresh} />
          )}
          {ended && <WrapUp callId={call.callId} socket={props.socket} onDone={props.onWrappedUp} />}
        </div>
      </div>
    </section>
  );
}

function CallerLine(props: { caller?: CallerHint }) {
  const c = props.caller;
  if (!c) return <p class="caller">Number withheld: no earlier calls can be shown.</p>;
  return (
    <p class="caller">
      Caller <span class="pseudonym">{c.pseudonym}</span>{' '}
      <span class="sep" aria-hidden="true">
        ·
      </span>{' '}
      {c.earlierCalls > 0 ? (
        <span class="returning">
          Returning caller: {c.earlierCalls} earlier {c.earlierCalls === 1 ? 'call' : 'calls'}
          {c.lastRiskLevel ? `; last risk level: ${RISK_LABEL[c.lastRiskLevel].toLowerCase()}` : ''}
        </span>
      ) : (
        <span>First call from this caller</span>
      )}
    </p>
  );
}

function Notes(props: { session: Session; callId: string; notes: Note[]; onSaved: () => Promise<void> }) {
  const [text, setText] = useState('');
  const [amending, setAmending] = useState<Note | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const fieldRef = useRef<HTMLTextAreaElement>(null);
  const byId = new Map(props.notes.map((n) => [n.id, n]));
  const notes = [...props.notes].sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));

  const save = async (e?: Event) => {
    e?.preventDefault();
    if (!text.trim()) return setError('Write the note first.');
    setSaving(true);
    setError(null);
    try {
      await addNote(props.session.token, props.callId, text, amending?.id);
      setText('');
      setAmending(null);
      await props.onSaved();
    } catch (err) {
      setError(`The note was not saved: ${(err as Error).message}`);
    } finally {
      setSaving(false);
      fieldRef.current?.focus();
    }
  };

  return (
    <div class="notes">
      <h3>Notes</h3>
      {notes.length === 0 ? (
        <p class="muted">No notes yet.</p>
      ) : (
        <ol class="note-list">
          {notes.map((n) => {
            const original = n.amendsNoteId ? byId.get(n.amendsNoteId) : undefined;
            return (
              <li key={n.id} class={n.amendsNoteId ? 'note amendment' : 'note'}>
                <div class="note-meta">
                  <time id={`note-time-${n.id}`} dateTime={n.createdAt}>
                    {timeOfDay(n.createdAt)}
                  </time>
                  {n.amendsNoteId && <span class="tag">Amends the note of {original ? timeOfDay(original.createdAt) : 'earlier'}</span>}
                </div>
                <p class="note-text">{n.text ?? <em class="muted">This note can no longer be read.</em>}</p>
                <button
                  type="button"
                  class="link"
                  aria-describedby={`note-time-${n.id}`}
                  onClick={() => {
                    setAmending(n);
                    fieldRef.current?.focus();
                  }}
                >
                  Amend
                </button>
              </li>
            );
          })}
        </ol>
      )}
      <form class="note-form" onSubmit={save}>
        {amending && (
          <p class="amending" role="status">
            Amending the note of {timeOfDay(amending.createdAt)}; the original stays on record.{' '}
            <button type="button" class="link" onClick={() => setAmending(null)}>
              Cancel amendment
            </button>
          </p>
        )}
        <label for="note">Note</label>
        <textarea
          id="note"
          ref={fieldRef}
          rows={4}
          maxLength={16000}
          value={text}
          aria-describedby="note-hint"
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void save();
            if (e.key === 'Escape' && amending) setAmending(null);
          }}
        />
        <p id="note-hint" class="hint">
          Notes cannot be edited or deleted; correct one with Amend. Ctrl+Enter adds the note.
        </p>
        <ErrorText error={error} />
        <button type="submit" class="button primary" disabled={saving}>
          Add note
        </button>
      </form>
    </div>
  );
}

function RiskControl(props: { session: Session; callId: string; value: RiskLevel | null; onSaved: () => Promise<void> }) {
  const [value, setValue] = useState<string>(props.value ?? '');
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setValue(props.value ?? ''), [props.value]);

  const change = async (level: RiskLevel) => {
    const before = value;
    setValue(level);
    setError(null);
    setMessage('Saving…');
    try {
      await assess(props.session.token, props.callId, level);
      setMessage(level === 'imminent' ? 'Saved: imminent. Supervisors have been alerted. Record the escalation below.' : `Saved: ${RISK_LABEL[level].toLowerCase()}.`);
      await props.onSaved();
    } catch (err) {
      setValue(before);
      setMessage(null);
      setError(`The risk level was not saved: ${(err as Error).message}`);
    }
  };

  return (
    <div class="risk">
      <div class="risk-row">
        <label for="risk">Risk</label>
        <select id="risk" class={`risk-${value || 'unset'}`} value={value} onChange={(e) => change(e.currentTarget.value as RiskLevel)}>
          <option value="" disabled>
            Not assessed yet
          </option>
          {RISK_LEVELS.map((r) => (
            <option key={r} value={r}>
              {RISK_LABEL[r]}
            </option>
          ))}
        </select>
      </div>
      <p class="hint" aria-live="polite">
        {message}
      </p>
      <ErrorText error={error} />
    </div>
  );
}

function EscalationForm(props: { session: Session; callId: string; escalations: CallDetail['escalations']; onSaved: () => Promise<void> }) {
  const [disclosedTo, setDisclosedTo] = useState('');
  const [legalBasis, setLegalBasis] = useState('');
  const [fields, setFields] = useState<string[]>([]);
  const [confirmedAt, setConfirmedAt] = useState('');
  const [notes, setNotes] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [recorded, setRecorded] = useState<string | null>(null);
  const existing = props.escalations ?? [];
  const [open, setOpen] = useState(existing.length === 0);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!fields.length) return setError('Tick each field you shared (at least one).');
    setSaving(true);
    setError(null);
    try {
      await escalate(props.session.token, props.callId, {
        disclosedTo: disclosedTo.trim(),
        legalBasis,
        fieldsDisclosed: fields,
        ...(confirmedAt ? { emergencyContactConfirmedAt: new Date(confirmedAt).toISOString() } : {}),
        ...(notes.trim() ? { notes: notes.trim() } : {}),
      });
      setRecorded(`Escalation recorded at ${timeOfDay(Date.now())}. Supervisors have been alerted and will co-sign it.`);
      setDisclosedTo('');
      setLegalBasis('');
      setFields([]);
      setConfirmedAt('');
      setNotes('');
      setOpen(false);
      await props.onSaved();
    } catch (err) {
      setError(`The escalation was not recorded: ${(err as Error).message}`);
    } finally {
      setSaving(false);
    }
  };

  return (
    <div class="escalation">
      <h3>Duty to warn: escalation</h3>
      <p role="status" class={recorded ? 'success' : 'hint'}>
        {recorded ?? 'Record what you shared, with whom, and why. Share only what the emergency needs.'}
      </p>
      {existing.length > 0 && <EscalationList escalations={existing} />}
      {open ? (
        <form onSubmit={submit} class="escalation-form">
          <div class="form-row even">
            <div>
              <label for="esc-to">Disclosed to</label>
              <input id="esc-to" required maxLength={200} placeholder="e.g. ambulance control room" value={disclosedTo} onInput={(e) => setDisclosedTo(e.currentTarget.value)} />
            </div>
            <div>
              <label for="esc-basis">Legal basis</label>
              <select id="esc-basis" required value={legalBasis} onChange={(e) => setLegalBasis(e.currentTarget.value)}>
                <option value="" disabled>
                  Choose the basis
                </option>
                {LEGAL_BASES.map((b) => (
                  <option key={b} value={b}>
                    {b}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <fieldset class="fields">
            <legend>Fields disclosed</legend>
            {DISCLOSABLE_FIELDS.map((f) => (
              <label key={f.value} class="check">
                <input
                  type="checkbox"
                  value={f.value}
                  checked={fields.includes(f.value)}
                  onChange={(e) => setFields((cur) => (e.currentTarget.checked ? [...cur, f.value] : cur.filter((x) => x !== f.value)))}
                />
                {f.label}
              </label>
            ))}
          </fieldset>
          <div class="form-row">
            <div>
              <label for="esc-confirmed">Emergency services confirmed contact at</label>
              <input id="esc-confirmed" type="datetime-local" value={confirmedAt} onInput={(e) => setConfirmedAt(e.currentTarget.value)} />
            </div>
            <div>
              <label for="esc-notes">Escalation details (optional)</label>
              <textarea id="esc-notes" rows={1} maxLength={4000} value={notes} onInput={(e) => setNotes(e.currentTarget.value)} />
            </div>
          </div>
          <ErrorText error={error} />
          <button type="submit" class="button danger" disabled={saving}>
            Record escalation
          </button>
        </form>
      ) : (
        <button type="button" class="button" onClick={() => setOpen(true)}>
          Record another escalation
        </button>
      )}
    </div>
  );
}

function WrapUp(props: { callId: string; socket: OperatorSocket; onDone: () => void }) {
  const [category, setCategory] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const res = await ask(props.socket, 'wrapup:done', { callId: props.callId, category });
      if (res.ok) props.onDone();
      else setError(`Wrap-up was not accepted: ${res.error ?? 'refused'}.`);
    } catch {
      setError('No answer from the server. Check the connection and try again.');
    } finally {
      setSaving(false);
    }
  };
  return (
    <form class="wrapup" onSubmit={submit}>
      <h3>Wrap-up</h3>
      <p class="hint">Finish your notes, choose a category, then press Done to take calls again.</p>
      <label for="wrapup-category">Category</label>
      <select id="wrapup-category" required value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
        <option value="" disabled>
          Choose a category
        </option>
        {WRAP_UP_CATEGORIES.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
      <ErrorText error={error} />
      <button type="submit" class="button primary" disabled={saving}>
        Done
      </button>
    </form>
  );
}

function MyCalls(props: { session: Session; version: number }) {
  const [calls, setCalls] = useState<CallSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<CallDetail | null>(null);

  const load = useCallback(async () => {
    try {
      setCalls((await listCalls(props.session.token)).items);
      setError(null);
    } catch (e) {
      setError(`Your calls could not be loaded: ${(e as Error).message}`);
    }
  }, [props.session.token]);
  useEffect(() => {
    void load();
  }, [load, props.version]);

  const view = async (callId: string) => {
    try {
      setOpen(await getCall(props.session.token, callId));
    } catch (e) {
      setError(`That call could not be opened: ${(e as Error).message}`);
    }
  };

  return (
    <section class="column panel" aria-labelledby="mycalls-title">
      <div class="section-head">
        <h2 id="mycalls-title">My calls</h2>
        <button type="button" class="button quiet" onClick={load}>
          Refresh
        </button>
      </div>
      <ErrorText error={error} />
      {calls && calls.length === 0 && <p class="muted">You have not handled a call yet.</p>}
      {calls && calls.length > 0 && (
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Length</th>
              <th scope="col">Risk</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {calls.map((c) => (
              <tr key={c.callId}>
                <td>{dateTime(c.startedAt)}</td>
                <td>{c.endedAt ? clock((Date.parse(c.endedAt) - Date.parse(c.answeredAt ?? c.startedAt)) / 1000) : 'ongoing'}</td>
                <td>{c.riskLevel ? <span class={`risk-tag risk-${c.riskLevel}`}>{RISK_LABEL[c.riskLevel]}</span> : <span class="muted">—</span>}</td>
                <td>
                  <button type="button" class="link" aria-label={`View the call of ${dateTime(c.startedAt)}`} onClick={() => view(c.callId)}>
                    View
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && (
        <Dialog title={`Call of ${dateTime(open.startedAt)}`} onClose={() => setOpen(null)} wide>
          <CallDetailView detail={open} />
        </Dialog>
      )}
    </section>
  );
}

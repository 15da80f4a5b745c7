import type { DirectoryTarget, OperatorStatus, SupervisionMode, TransferState } from '@hotline/contract';
import { useState } from 'preact/hooks';
import { addNote } from '../api';
import { clock, human, spoken } from '../format';
import { useNow, useSocketEvents } from '../socket';
import { Dialog, ErrorText } from '../ui';
import { OperatorSocket, ask } from './live';

const SUPERVISION_TEXT: Record<SupervisionMode, string> = {
  listen: 'A supervisor is listening to this call (the caller cannot hear them).',
  coach: 'A supervisor is coaching you: only you can hear them.',
  join: 'A supervisor has joined the call: the caller can hear them.',
};

const TRANSFER_TEXT: Record<TransferState, string> = {
  ringing: 'Calling the transfer target; the caller is on hold.',
  connected: 'The transfer target is on the line. Talk to them, then complete the transfer (or take the caller off hold).',
  completed: 'Transfer completed.',
  failed: 'The transfer did not go through; the caller is back with you.',
};

export interface Targets {
  operators: { id: string; name: string; status: OperatorStatus }[];
  directory: DirectoryTarget[];
}

/**
 * The live call's controls for a call in a conference: Hold/Resume (with how long the caller has
 * been on hold), Transfer (a colleague, or a directory entry), Complete transfer, Ask for help;
 * and what the operator must know while it lasts: a supervisor on the call, a transfer under way.
 */
export function CallControls(props: { callId: string; socket: OperatorSocket; targets: Targets | null; token: string }) {
  const { callId, socket, targets } = props;
  const now = useNow();
  const [holdSince, setHoldSince] = useState<number | null>(null);
  const [supervision, setSupervision] = useState<SupervisionMode | null>(null);
  const [transfer, setTransfer] = useState<{ state: TransferState; reason?: string } | null>(null);
  const [choosing, setChoosing] = useState(false);
  const [help, setHelp] = useState<'asked' | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useSocketEvents(
    socket,
    () => ({
      'call:hold_state': (p) => p.callId === callId && setHoldSince(p.onHold ? Date.parse(p.since ?? new Date().toISOString()) : null),
      supervision: (p) => p.callId === callId && (setSupervision(p.mode), setHelp(null)),
      'supervision:ended': (p) => p.callId === callId && setSupervision(null),
      'transfer:status': (p) => p.callId === callId && setTransfer({ state: p.state, reason: p.reason }),
    }),
    [callId],
  );

  const act = async (what: string, run: () => Promise<{ ok: boolean; error?: string }>) => {
    setBusy(true);
    setError(null);
    try {
      const res = await run();
      if (!res.ok) setError(`${what}: ${human(res.error ?? 'refused')}.`);
      return res.ok;
    } catch {
      setError(`${what}: no answer from the server. Check the connection.`);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const onHold = holdSince !== null;
  const held = onHold ? (now - holdSince) / 1000 : 0;
  const transferring = transfer && (transfer.state === 'ringing' || transfer.state === 'connected');

  return (
    <div class="call-controls" role="group" aria-label="Call controls">
      {supervision && (
        <p class={`supervision supervision-${supervision}`} role="status">
          {SUPERVISION_TEXT[supervision]}
        </p>
      )}
      {transfer && (
        <p class="notice" role="status">
          {TRANSFER_TEXT[transfer.state]}
          {transfer.reason ? ` (${human(transfer.reason)})` : ''}
        </p>
      )}
      <div class="control-row">
        <button
          type="button"
          class={onHold ? 'button primary' : 'button'}
          aria-pressed={onHold}
          disabled={busy}
          onClick={() => void act(onHold ? 'Resume' : 'Hold', () => ask(socket, 'call:hold', { callId, hold: !onHold }))}
        >
          {onHold ? 'Resume' : 'Hold'}
        </button>
        {onHold && (
          <span class="hold-timer" role="timer" aria-label={`Caller on hold for ${spoken(held)}`}>
            On hold {clock(held)}
          </span>
        )}
        {transfer?.state === 'connected' ? (
          <button
            type="button"
            class="button primary"
            disabled={busy}
            onClick={() => void act('Complete transfer', () => ask(socket, 'transfer:complete', { callId }))}
          >
            Complete transfer
          </button>
        ) : (
          <button type="button" class="button" disabled={busy || !!transferring} onClick={() => setChoosing(true)}>
            Transfer…
          </button>
        )}
        <button
          type="button"
          class="button"
          disabled={busy || help === 'asked' || supervision !== null}
          onClick={() => void act('Ask for help', () => ask(socket, 'help:request', { callId })).then((ok) => ok && setHelp('asked'))}
        >
          {help === 'asked' ? 'Help requested' : 'Ask for help'}
        </button>
      </div>
      <ErrorText error={error} />
      {choosing && (
        <TransferDialog
          targets={targets}
          onClose={() => setChoosing(false)}
          onTransfer={async (mode, to, note) => {
            // The handover note is a note on the call, sealed under its key by records, written before the
            // caller moves: the next operator reads it in the record.
            if (note) {
              try {
                await addNote(props.token, callId, `Handover note: ${note}`);
              } catch (e) {
                setError(`The handover note could not be saved, so the call was not transferred: ${(e as Error).message}`);
                return;
              }
            }
            const ok = await act('Transfer', () => ask(socket, 'call:transfer', { callId, mode, to: to as any }));
            if (ok) setChoosing(false);
          }}
        />
      )}
    </div>
  );
}

/** Who to transfer to: a colleague (warm or cold), the queue (cold), or a directory entry (warm). Never a number on screen. */
function TransferDialog(props: {
  targets: Targets | null;
  onClose: () => void;
  onTransfer: (mode: 'warm' | 'cold', to: { operatorId: string } | { directoryId: string } | null, note: string) => Promise<void>;
}) {
  const [choice, setChoice] = useState('');
  const [note, setNote] = useState('');
  const [mode, setMode] = useState<'warm' | 'cold'>('warm');
  const ops = props.targets?.operators ?? [];
  const dir = props.targets?.directory ?? [];
  const to = choice.startsWith('op:')
    ? { operatorId: choice.slice(3) }
    : choice.startsWith('dir:')
      ? { directoryId: choice.slice(4) }
      : choice === 'queue'
        ? null
        : undefined;
  const external = choice.startsWith('dir:');
  return (
    <Dialog title="Transfer the call" onClose={props.onClose}>
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          const chosen = choice === 'queue' ? 'cold' : external ? 'warm' : mode;
          if (to !== undefined) void props.onTransfer(chosen, to, chosen === 'cold' ? note.trim() : '');
        }}
      >
        <label for="transfer-target">Transfer to</label>
        <select id="transfer-target" required value={choice} onChange={(e) => setChoice(e.currentTarget.value)}>
          <option value="" disabled>
            Choose a colleague or a service
          </option>
          <optgroup label="Colleagues">
            {ops.map((o) => (
              <option key={o.id} value={`op:${o.id}`} disabled={o.status !== 'available'}>
                {o.name}
                {o.status !== 'available' ? ` (${human(o.status)})` : ''}
              </option>
            ))}
          </optgroup>
          <optgroup label="Directory">
            {dir.map((d) => (
              <option key={d.id} value={`dir:${d.id}`}>
                {d.name} ({human(d.kind)})
              </option>
            ))}
          </optgroup>
          <option value="queue">Back to the queue (cold)</option>
        </select>
        {choice.startsWith('op:') && (
          <fieldset>
            <legend>How</legend>
            <label>
              <input type="radio" name="transfer-mode" checked={mode === 'warm'} onChange={() => setMode('warm')} /> Warm: talk to them
              first, the caller on hold
            </label>
            <label>
              <input type="radio" name="transfer-mode" checked={mode === 'cold'} onChange={() => setMode('cold')} /> Cold: the caller goes
              to them straight away, with your handover note
            </label>
          </fieldset>
        )}
        {(choice === 'queue' || (choice.startsWith('op:') && mode === 'cold')) && (
          <>
            <label for="handover-note">Handover note (saved to the call's record, encrypted like any note)</label>
            <textarea id="handover-note" maxLength={4000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
          </>
        )}
        <div class="form-actions">
          <button type="submit" class="button primary" disabled={to === undefined}>
            Transfer
          </button>
        </div>
      </form>
    </Dialog>
  );
}

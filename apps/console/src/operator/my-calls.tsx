import { useState } from 'preact/hooks';
import { CallDetail, getCall } from '../api';
import { CallDetailView } from '../call-detail';
import { CallTable } from '../call-table';
import { dateTime } from '../format';
import type { Session } from '../session';
import { Dialog } from '../ui';

/** The calls this operator handled; View opens one read-only. */
export function MyCalls(props: { session: Session; version: number }) {
  const [open, setOpen] = useState<CallDetail | null>(null);
  return (
    <CallTable
      session={props.session}
      version={props.version}
      title="My calls"
      titleId="mycalls-title"
      class="column panel"
      column="length"
      action={{ text: 'View', label: (started) => `View the call of ${started}` }}
      onOpen={async (callId) => setOpen(await getCall(props.session.token, callId))}
      messages={{
        empty: 'You have not handled a call yet.',
        loadFailed: 'Your calls could not be loaded',
        openFailed: 'That call could not be opened',
      }}
    >
      {open && (
        <Dialog title={`Call of ${dateTime(open.startedAt)}`} onClose={() => setOpen(null)} wide>
          <CallDetailView detail={open} />
        </Dialog>
      )}
    </CallTable>
  );
}

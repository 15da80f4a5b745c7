import { ROLES, Role } from '@hotline/contract';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { StaffRow, createStaff, listAcceptances, listStaff, resetFactor, resetPassword, updateStaff } from '../account/account-api';
import { message } from '../account/sign-in-steps';
import { Session } from '../session';
import { SupervisorView } from '../supervisor/supervisor-view';
import { Dialog, ErrorText, Select, TopBar, WithHeaderActions } from '../ui';

const roleName = (r: Role) => r.replace('_', ' ');

/**
 * The admin console: staff accounts (create, role and display name, deactivate and reactivate,
 * reset a password or a second factor) and who accepted which agreement. Admins read no call
 * content: nothing here asks records for a call.
 */
export function AdminView(props: { session: Session; onSignOut: () => void; onRefused: (m: string) => void }) {
  const [tab, setTab] = useState<'staff' | 'wallboard'>('staff');
  const toggle = (
    <button type="button" class="button quiet view-switch" onClick={() => setTab(tab === 'staff' ? 'wallboard' : 'staff')}>
      {tab === 'staff' ? 'Wallboard' : 'Staff accounts'}
    </button>
  );
  // The wallboard, as before for admins: queue figures and alerts, no call content (break-glass is for supervisors).
  return (
    <WithHeaderActions actions={toggle}>
      {tab === 'wallboard' ? (
        <SupervisorView session={props.session} onSignOut={props.onSignOut} onRefused={props.onRefused} />
      ) : (
        <StaffAccounts session={props.session} onSignOut={props.onSignOut} />
      )}
    </WithHeaderActions>
  );
}

function StaffAccounts(props: { session: Session; onSignOut: () => void }) {
  const { token } = props.session;
  const [staff, setStaff] = useState<StaffRow[] | null>(null);
  const [accepted, setAccepted] = useState<Map<string, string>>(new Map());
  const [currentVersion, setCurrentVersion] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<StaffRow | 'new' | null>(null);

  const reload = useCallback(async () => {
    try {
      const [s, a] = await Promise.all([listStaff(token), listAcceptances(token)]);
      setStaff(s.items);
      setCurrentVersion(a.currentVersion);
      const latest = new Map<string, string>();
      for (const item of a.items) if (!latest.has(item.staffId)) latest.set(item.staffId, item.version);
      setAccepted(latest);
    } catch (e) {
      setError(message(e));
    }
  }, [token]);
  useEffect(() => void reload(), [reload]);

  const act = async (what: () => Promise<string>) => {
    setError(null);
    setNotice(null);
    try {
      setNotice(await what());
      await reload();
    } catch (e) {
      setError(message(e));
    }
  };

  return (
    <div class="layout">
      <TopBar session={props.session} connection="connected" onSignOut={props.onSignOut} title="Staff accounts" />
      <main class="admin">
        <div class="admin-head">
          <h2>Staff</h2>
          <button type="button" class="button primary" onClick={() => setEditing('new')}>
            New account
          </button>
        </div>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <ErrorText error={error} />
        {staff === null ? (
          <p role="status">Loading…</p>
        ) : (
          <table class="table staff-table" aria-label="Staff accounts">
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Second factor</th>
                <th scope="col">Agreement</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {staff.map((s) => (
                <tr key={s.id} data-username={s.username}>
                  <td>{s.username}</td>
                  <td>{s.displayName}</td>
                  <td>{roleName(s.role)}</td>
                  <td>{s.active ? (s.mustChangePassword ? 'Active, must change password' : 'Active') : 'Deactivated'}</td>
                  <td>{s.factorEnrolled ? 'Enrolled' : 'Not enrolled'}</td>
                  <td>
                    {accepted.get(s.id)
                      ? `v${accepted.get(s.id)}${accepted.get(s.id) === currentVersion ? '' : ' (not current)'}`
                      : 'Not accepted'}
                  </td>
                  <td class="row-actions">
                    <button type="button" class="button quiet" aria-label={`Edit ${s.username}`} onClick={() => setEditing(s)}>
                      Edit
                    </button>
                    {s.id !== props.session.user.id && (
                      <>
                        <button
                          type="button"
                          class="button quiet"
                          aria-label={`${s.active ? 'Deactivate' : 'Reactivate'} ${s.username}`}
                          onClick={() =>
                            act(async () => {
                              await updateStaff(token, s.id, { active: !s.active });
                              return s.active
                                ? `${s.username} is deactivated; their sessions have ended.`
                                : `${s.username} is active again.`;
                            })
                          }
                        >
                          {s.active ? 'Deactivate' : 'Reactivate'}
                        </button>
                        <button
                          type="button"
                          class="button quiet"
                          aria-label={`Reset password of ${s.username}`}
                          onClick={() =>
                            act(async () => {
                              const r = await resetPassword(token, s.id);
                              return `One-time password for ${s.username}: ${r.oneTimePassword} (shown once; they choose their own at next sign-in).`;
                            })
                          }
                        >
                          Reset password
                        </button>
                        {s.factorEnrolled && (
                          <button
                            type="button"
                            class="button quiet"
                            aria-label={`Reset second factor of ${s.username}`}
                            onClick={() =>
                              act(async () => {
                                await resetFactor(token, s.id);
                                return `${s.username} enrols a new second factor at their next sign-in.`;
                              })
                            }
                          >
                            Reset factor
                          </button>
                        )}
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </main>
      {editing && (
        <StaffForm
          token={token}
          member={editing === 'new' ? null : editing}
          self={props.session.user.id}
          onClose={() => setEditing(null)}
          onSaved={(text) => {
            setEditing(null);
            setNotice(text);
            void reload();
          }}
        />
      )}
    </div>
  );
}

function StaffForm(props: {
  token: string;
  member: StaffRow | null;
  self: string;
  onClose: () => void;
  onSaved: (notice: string) => void;
}) {
  const m = props.member;
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState(m?.displayName ?? '');
  const [role, setRole] = useState<Role | ''>(m?.role ?? '');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!role) return;
    setError(null);
    try {
      if (m) {
        await updateStaff(props.token, m.id, { displayName, ...(role !== m.role ? { role } : {}) });
        props.onSaved(`${m.username} is saved.${role !== m.role ? ' Their sessions ended (new role).' : ''}`);
      } else {
        await createStaff(props.token, { username: username.trim(), password, role, displayName });
        props.onSaved(`${username.trim()} can sign in now.`);
      }
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <Dialog title={m ? `Edit ${m.username}` : 'New staff account'} onClose={props.onClose}>
      <form onSubmit={submit} class="form">
        {!m && (
          <>
            <label for="staff-username">Username</label>
            <input id="staff-username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
            <label for="staff-password">First password (12 characters or more)</label>
            <input
              id="staff-password"
              type="password"
              autocomplete="new-password"
              required
              minLength={12}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </>
        )}
        <label for="staff-name">Display name</label>
        <input id="staff-name" required value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
        <label for="staff-role">Role</label>
        <Select
          id="staff-role"
          value={role}
          placeholder="Choose a role"
          options={m?.id === props.self ? (['admin'] as const) : ROLES}
          label={roleName}
          onChange={setRole}
          required
        />
        <ErrorText error={error} />
        <div class="actions">
          <button type="submit" class="button primary">
            {m ? 'Save' : 'Create account'}
          </button>
          <button type="button" class="button quiet" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

import { useEffect, useMemo, useState } from 'preact/hooks';
import { io, Socket } from 'socket.io-client';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'refused';

const SESSION_ENDED: Record<string, string> = {
  signed_out: 'you signed out of this session',
  deactivated: 'your account was deactivated',
  role_changed: 'your role was changed',
  expired: 'your session expired',
  password_changed: 'your password was changed',
  password_reset: 'an admin reset your password',
  factor_reset: 'an admin reset your second factor',
  idle: 'your session ended after a long idle time',
};

/** The consoles' sockets that the server closed, to connect again once what refused them is settled. */
const reconnectors = new Set<() => void>();

/**
 * After a new agreement was accepted while the view stayed up (a live call): the sockets the server
 * closed for it connect again (the view's own state, and the call, are kept).
 */
export function reconnectConsoles(): void {
  for (const r of reconnectors) r();
}

/**
 * One socket.io connection to a gateway namespace for the lifetime of a view. socket.io reconnects
 * by itself; a refusal in the handshake (bad or expired token, `locked`, `agreement_required`) does
 * not retry and is reported. The server closing the socket because the session was locked
 * (`session:locked`) or a new agreement must be accepted (`session:agreement_required`) is reported
 * as that refusal, for the page to show the lock or the agreement.
 */
export function useSocket<S extends Record<string, any>, C extends Record<string, any>>(
  namespace: string,
  token: string,
  onRefused: (message: string) => void,
): { socket: Socket<S, C>; state: ConnectionState } {
  const socket = useMemo(
    () => io(namespace, { auth: { token }, transports: ['websocket'], autoConnect: false }) as Socket<S, C>,
    [namespace, token],
  );
  const [state, setState] = useState<ConnectionState>('connecting');

  useEffect(() => {
    const onConnect = () => setState('connected');
    const onDisconnect = () => setState(socket.active ? 'reconnecting' : 'disconnected');
    const onError = (err: Error) => {
      if (socket.active) return setState('reconnecting');
      setState('refused');
      onRefused(err.message);
    };
    // The server ended the session (signed out elsewhere, deactivated, new role, token expired).
    const onSessionEnded = ({ reason }: { reason: string }) => {
      setState('refused');
      onRefused(SESSION_ENDED[reason] ?? 'your session has ended');
    };
    const onLocked = () => {
      setState('refused');
      onRefused('locked');
    };
    const onAgreementRequired = () => {
      setState('refused');
      onRefused('agreement_required');
    };
    const reconnect = () => {
      if (socket.connected || socket.active) return;
      setState('connecting');
      socket.connect();
    };
    socket.on('connect', onConnect);
    socket.on('disconnect', onDisconnect);
    socket.on('connect_error', onError);
    (socket as unknown as Socket).on('session:ended', onSessionEnded);
    (socket as unknown as Socket).on('session:locked', onLocked);
    (socket as unknown as Socket).on('session:agreement_required', onAgreementRequired);
    reconnectors.add(reconnect);
    socket.connect();
    return () => {
      reconnectors.delete(reconnect);
      socket.off('connect', onConnect);
      socket.off('disconnect', onDisconnect);
      socket.off('connect_error', onError);
      (socket as unknown as Socket).off('session:ended', onSessionEnded);
      (socket as unknown as Socket).off('session:locked', onLocked);
      (socket as unknown as Socket).off('session:agreement_required', onAgreementRequired);
      socket.disconnect();
    };
  }, [socket]);

  return { socket, state };
}

/** A view's listeners for a namespace's server events (and `connect`), each typed by the shared contract. */
export type SocketListeners<S> = { [E in keyof S]?: S[E] } & { connect?: () => void };

/**
 * Listens to `socket` with the listeners `make` returns, from mount until `deps` change (then with
 * new ones) or the view goes.
 */
export function useSocketEvents<S extends Record<string, any>, C extends Record<string, any>>(
  socket: Socket<S, C>,
  make: () => SocketListeners<S>,
  deps: unknown[],
): void {
  useEffect(() => {
    const listeners = Object.entries(make()).filter((entry): entry is [string, (...args: any[]) => void] => typeof entry[1] === 'function');
    const untyped = socket as unknown as {
      on(event: string, f: (...args: any[]) => void): void;
      off(event: string, f: (...args: any[]) => void): void;
    };
    for (const [event, f] of listeners) untyped.on(event, f);
    return () => {
      for (const [event, f] of listeners) untyped.off(event, f);
    };
  }, [socket, ...deps]);
}

/** A second-by-second clock for timers and countdowns. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

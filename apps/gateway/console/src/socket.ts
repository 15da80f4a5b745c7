import { useEffect, useMemo, useState } from 'preact/hooks';
import { io, Socket } from 'socket.io-client';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'refused';

/**
 * One socket.io connection to a gateway namespace for the lifetime of a view. socket.io reconnects
 * by itself; a refusal in the handshake (bad or expired token) does not retry and is reported.
 */
export function useSocket<S extends Record<string, any>, C extends Record<string, any>>(
  namespace: string,
  token: string,
  onRefused: (message: string) => void,
): { socket: Socket<S, C>; state: ConnectionState } {
  const socket = useMemo(() => io(namespace, { auth: { token }, transports: ['websocket'], autoConnect: false }) as Socket<S, C>, [namespace, token]);
  const [state, setState] = useState<ConnectionState>('connecting');

  useEffect(() => {
    const onConnect = () => setState('connected');
    const onDisconnect = () => setState(socket.active ? 'reconnecting' : 'disconnected');
    const onError = (err: Error) => {
      if (socket.active) return setState('reconnecting');
      setState('refused');
      onRefused(err.message);
    };
    socket.on('connect', onConnect);
    socket.on('disconnect', onDisconnect);
    socket.on('connect_error', onError);
    socket.connect();
    return () => {
      socket.off('connect', onConnect);
      socket.off('disconnect', onDisconnect);
      socket.off('connect_error', onError);
      socket.disconnect();
    };
  }, [socket]);

  return { socket, state };
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

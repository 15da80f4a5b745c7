import type { CallerHint, OperatorAck, OperatorClientEvents, OperatorClientMessages, OperatorServerEvents } from '@hotline/contract';
import type { Socket } from 'socket.io-client';

export type OperatorSocket = Socket<OperatorServerEvents, OperatorClientEvents>;

/** The offer on screen, with the local time it arrived (the countdown runs from it). */
export interface Offer {
  callId: string;
  expiresAt: number;
  waitingSeconds: number;
  receivedAt: number;
}

/** The operator's live call; kept in sessionStorage so that a reload brings the call panel back. */
export interface LiveCall {
  callId: string;
  connectedAt: number;
  caller?: CallerHint;
  endedAt?: number;
}

/** Emits a client event and resolves with its ack (or rejects after a timeout). Typed by the shared contract. */
export function ask<E extends keyof OperatorClientMessages>(
  socket: OperatorSocket,
  event: E,
  payload: OperatorClientMessages[E]['payload'],
): Promise<OperatorAck<E>> {
  return (socket as any).timeout(8000).emitWithAck(event, payload);
}

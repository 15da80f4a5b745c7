import { randomUUID } from 'crypto';
import { VoiceLegAnnouncement, VoiceLegPurpose, voiceLegParameters } from '@hotline/contract';

/**
 * A browser leg about to be dialled to a staff member's console (libs/contract/src/voice-legs.ts):
 * what their console is told first (`voice:leg`), the custom parameters the leg carries, and the
 * Participant address that carries them (`client:op-<id>?callId=…&purpose=…&staffId=…&leg=…`).
 */
export interface VoiceLeg {
  identity: string;
  announcement: VoiceLegAnnouncement;
  parameters: Record<string, string>;
  /** A Participant's `To`: the identity, with the custom parameters as its query. */
  address: string;
}

export function voiceLeg(staffId: string, callId: string, purpose: VoiceLegPurpose): VoiceLeg {
  const announcement: VoiceLegAnnouncement = { callId, purpose, leg: randomUUID() };
  const parameters = voiceLegParameters(staffId, announcement);
  const identity = clientIdentity(staffId);
  return { identity, announcement, parameters, address: `client:${identity}?${new URLSearchParams(parameters).toString()}` };
}

/** Identity of an operator's browser leg (Twilio Client); the voice token is issued for it too. */
export const clientIdentity = (operatorId: string) => `op-${operatorId}`;

/** `<Client>` to a browser leg: its identity and its custom parameters (`<Parameter>`), as the Voice SDK reads them. */
interface DialNoun {
  client(attrs: object): { identity(id: string): unknown; parameter(p: { name: string; value: string }): unknown };
}
export function clientNoun(parent: DialNoun, leg: VoiceLeg, attrs: object = {}): void {
  const client = parent.client(attrs);
  client.identity(leg.identity);
  for (const [name, value] of Object.entries(leg.parameters)) client.parameter({ name, value });
}

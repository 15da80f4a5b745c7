import { jobId, schedulerId } from './job-id';

// These ids are in Redis and deduplicate work: a change would queue again what is already queued.
describe('jobId', () => {
  const callId = '5f0c1a52-8d0e-4b7a-9c43-2f4a3b1c9d10';

  it('names each job as the queues have always named it', () => {
    expect(jobId.secureDelete(callId)).toBe(`secure-delete.${callId}`);
    expect(jobId.deletionRequest('r1')).toBe('deletion-request.r1');
    expect(jobId.deleteRecordings(callId)).toBe(`delete-recordings.${callId}`);
    expect(jobId.deleteSms('SM123')).toBe('delete-sms.SM123');
    expect(jobId.deleteCall('CA123')).toBe('delete-call.CA123');
    expect(jobId.openCall(callId)).toBe(`open-call-${callId}`);
    expect(Object.values(schedulerId)).toEqual(['retention-scan', 'retention-reconcile']);
  });

  it('names a call event by call (or CallSid before the call is known), kind, and operator or recording', () => {
    expect(jobId.callEvent({ kind: 'connected', callId, operatorId: 'op1' })).toBe(`call-event-connected_${callId}_op1`);
    expect(jobId.callEvent({ kind: 'ended', callId: null, callSid: 'CA1' })).toBe('call-event-ended_CA1');
    expect(jobId.callEvent({ kind: 'ended', callId, callSid: 'CA1' })).toBe(`call-event-ended_${callId}`);
    expect(jobId.callEvent({ kind: 'wrapup', callId, operatorId: 'op1' })).toBe(`call-event-wrapup_${callId}`);
    expect(jobId.callEvent({ kind: 'recording', callId: null, callSid: 'CA1', recordingSid: 'RE1' })).toBe('call-event-recording_CA1_RE1');
    expect(jobId.callEvent({ kind: 'leg', callId, legSid: 'CA2' })).toBe(`call-event-leg_${callId}_CA2`);
  });

  it('never gives BullMQ an id with a single colon, which it refuses', () => {
    expect(jobId.secureDelete('a:b')).toBe('secure-delete.a.b');
  });
});

import { createTwilioClient, isTwilioCallEnded, isTwilioNotFound } from '@hotline/twilio';
import { TEST_SECRETS } from '../support/test-config';
import { TwilioPeer, randomSid } from '../support/twilio-peer';
import { startTwilioPeer } from '../support/gateway-app';

describe('Twilio REST client with TWILIO_API_URL', () => {
  let peer: TwilioPeer;
  beforeAll(async () => (peer = await startTwilioPeer()));
  afterAll(() => peer.stop());

  it('reaches the local peer for call updates, recording deletion and messages', async () => {
    const client = createTwilioClient({
      accountSid: TEST_SECRETS.TWILIO_ACCOUNT_SID,
      authToken: TEST_SECRETS.TWILIO_AUTH_TOKEN,
      apiUrl: peer.url,
    });
    const callSid = randomSid('CA');
    // A call Twilio never had is 404; a live one takes new TwiML; one that has ended answers 400/21220.
    expect(
      isTwilioNotFound(
        await client
          .calls(callSid)
          .update({ twiml: '<Response><Hangup/></Response>' })
          .catch((e) => e),
      ),
    ).toBe(true);
    peer.registerCall(callSid, '+15550009998', '+15550000000');
    await client.calls(callSid).update({ twiml: '<Response><Say>One moment.</Say></Response>' });
    expect(peer.callUpdates).toEqual([{ callSid, params: { Twiml: '<Response><Say>One moment.</Say></Response>' } }]);
    await peer.settled();
    expect(peer.calls.get(callSid)!.status).toBe('completed');
    const ended = await client
      .calls(callSid)
      .update({ twiml: '<Response><Hangup/></Response>' })
      .catch((e) => e);
    expect(ended).toMatchObject({ status: 400, code: 21220 });
    expect(isTwilioCallEnded(ended)).toBe(true);

    const rec = randomSid('RE');
    await client.recordings(rec).remove();
    expect(peer.deletedRecordings).toContain(rec);
    const again = await client
      .recordings(rec)
      .remove()
      .catch((e) => e);
    expect(isTwilioNotFound(again)).toBe(true);

    const msg = await client.messages.create({ to: '+15550009999', from: '+15550001111', body: 'Your code is 123456' });
    expect(peer.messagesTo('+15550009999')[0].body).toBe('Your code is 123456');
    await client.messages(msg.sid).remove();
    expect(peer.messages[0].deleted).toBe(true);
  });

  it('refuses wrong credentials like Twilio does', async () => {
    const client = createTwilioClient({
      accountSid: TEST_SECRETS.TWILIO_ACCOUNT_SID,
      authToken: 'wrong-token-0123456789',
      apiUrl: peer.url,
    });
    await expect(client.calls(randomSid('CA')).update({ twiml: '<Response/>' })).rejects.toMatchObject({ status: 401 });
  });
});

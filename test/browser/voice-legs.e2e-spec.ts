import { randomUUID } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { Browser, BrowserContext, Locator, Page, chromium } from 'playwright-core';
import { StaffService } from '@hotline/auth';
import { VOICE_LEG_GRACE_MS } from '@hotline/contract';
import { CallerSimulator, SimCall } from '../support/caller-simulator';
import { envFor } from '../support/env-for';
import { TEST_SECRETS } from '../support/test-config';
import { TwilioPeer, randomSid } from '../support/twilio-peer';
import { LegOutcome } from '../support/twilio-peer-devices';
import { startRecordsApp } from '../support/records-app';
import { clearRouting, startGatewayApp } from '../support/gateway-app';
import { holdAccepts, releaseAccepts, standInContext, standInLog } from './support/voice-stand-in';

/**
 * Issue 23, item 4: the console accepts the right legs. Each console runs the shipped code with a
 * stand-in for the Voice SDK's Device (test/browser/support) that registers with the local Twilio
 * peer as the real one registers with Twilio; the gateway has the peer ring the browser leg of an
 * accepted offer, of a colleague's warm transfer, of a callback the operator placed and of a
 * supervisor listening, each announced first on that console's socket (`voice:leg`). The console
 * takes exactly those (libs/contract ExpectedLegs) and refuses a leg meant for another console at
 * once, and a leg nobody announced once the grace for a late announcement has passed.
 */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PUBLIC_URL = 'http://localhost:3000';
const HOTLINE = '+15550000000';
const DOCS = process.env.UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs') : join(__dirname, '..', '..', 'test-results');
const run = Date.now().toString(36);
/** Test values: the peer trusts tokens signed with this key (a Voice access token as Twilio checks it). */
const VOICE = {
  TWILIO_API_KEY_SID: 'SK' + 'b1'.repeat(16),
  TWILIO_API_KEY_SECRET: 'voice-legs-test-key-secret-0123',
  TWILIO_TWIML_APP_SID: 'AP' + 'c2'.repeat(16),
};

/** Open all day; with no operator signed in (all Away), a caller is offered the choices after a second. */
function routingFile(): string {
  const path = join(tmpdir(), `hotline-routing-voice-legs-${process.pid}.yaml`);
  writeFileSync(
    path,
    [
      'version: "voice-legs-1"',
      'timeZone: UTC',
      'openingHours:',
      ...['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => `  ${d}: ["00:00-24:00"]`),
      'maxWait: PT10M',
      'nobodyAvailableAfter: PT1S',
      'overflow: [keep_waiting, callback, voicemail]',
      `hotlineNumber: "${HOTLINE}"`,
    ].join('\n'),
  );
  return path;
}

describe('the console takes the browser legs meant for it', () => {
  let records: INestApplication;
  let gateway: INestApplication;
  let peer: TwilioPeer;
  let sim: CallerSimulator;
  let browser: Browser;
  let gatewayUrl: string;
  let robin: Page;
  let sam: Page;
  let morgan: Page;
  let live: SimCall;
  const contexts: BrowserContext[] = [];
  const operator = { username: `vlop_${run}`, password: 'operator-pass-0123', displayName: 'Robin Operator', id: '' };
  const colleague = { username: `vlcol_${run}`, password: 'operator-pass-0123', displayName: 'Sam Operator', id: '' };
  const supervisor = { username: `vlsup_${run}`, password: 'supervisor-pass-0123', displayName: 'Morgan Supervisor', id: '' };
  const callbackCaller = '+15555550134';
  const liveCaller = '+447700900789';
  const rings: { cancel(): void }[] = [];

  beforeAll(async () => {
    const redis = new Redis(envFor().REDIS_URL);
    await clearRouting(redis);
    await redis.quit();
    // Ring times a quarter of Twilio's: a browser under a loaded test machine answers within them.
    peer = await new TwilioPeer(TEST_SECRETS.TWILIO_ACCOUNT_SID, TEST_SECRETS.TWILIO_AUTH_TOKEN, { timeScale: 0.25 }).start();
    peer.devices.trustKey(VOICE.TWILIO_API_KEY_SID, VOICE.TWILIO_API_KEY_SECRET);
    const vars = { TWILIO_API_URL: peer.url, PUBLIC_URL, ROUTING_CONFIG: routingFile(), ...VOICE };
    const started = await startRecordsApp(vars, { listen: true });
    records = started.app;
    ({ app: gateway, base: gatewayUrl } = await startGatewayApp(envFor({ ...vars, RECORDS_URL: started.url })));
    const staff = records.get(StaffService);
    operator.id = (await staff.create({ ...operator, role: 'operator' }, { system: 'browser-test' })).id;
    colleague.id = (await staff.create({ ...colleague, role: 'operator' }, { system: 'browser-test' })).id;
    supervisor.id = (await staff.create({ ...supervisor, role: 'supervisor' }, { system: 'browser-test' })).id;
    sim = new CallerSimulator({
      gatewayUrl,
      publicUrl: PUBLIC_URL,
      accountSid: TEST_SECRETS.TWILIO_ACCOUNT_SID,
      authToken: TEST_SECRETS.TWILIO_AUTH_TOKEN,
      peer,
      hangUpProbability: 0,
      waitPollSeconds: 1,
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const open = async () => {
      const context = await standInContext(browser, peer.url);
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(gatewayUrl);
      return page;
    };
    robin = await open();
    sam = await open();
    morgan = await open();
    mkdirSync(DOCS, { recursive: true });
  }, 90_000);

  afterAll(async () => {
    for (const r of rings) r.cancel();
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await sim?.stop();
    await peer?.settled();
    for (const app of [gateway, records]) await app?.close();
    await peer?.stop();
  }, 60_000);

  /** The legs the peer rang for `purpose`, with how each ended. */
  const legsFor = (purpose: string) => peer.devices.history.filter((h) => h.customParameters.purpose === purpose);
  const identity = (s: { id: string }) => `op-${s.id}`;

  it('a caller who could not wait asks for a callback while every operator is away', async () => {
    const call = await sim.placeCall({ from: callbackCaller, digits: ['1'], overflowDigits: ['2', '1'] });
    await sim.waitFor(call.sid, 'completed', 30_000);
    expect(call.pressed).toEqual(['1', '2', '1']);
  }, 40_000);

  it('operators register their browser audio at sign-in; a supervisor’s stays off until they listen', async () => {
    await signIn(robin, operator);
    await signIn(sam, colleague);
    await signIn(morgan, supervisor);
    for (const page of [robin, sam]) await audio(page, 'Audio: connected').waitFor();
    await audio(morgan, 'Audio: off (it turns on when you listen, coach or join)').waitFor();
    expect(peer.devices.isRegistered(identity(operator))).toBe(true);
    expect(peer.devices.isRegistered(identity(colleague))).toBe(true);
    expect(peer.devices.isRegistered(identity(supervisor))).toBe(false);
  });

  it('callback: the operator calls back; their browser takes the callback leg when the callee answers', async () => {
    peer.callees.set(callbackCaller, { answer: 'human', afterMs: 1000 });
    const list = robin.getByRole('region', { name: 'Callbacks due' });
    const callBack = list.getByRole('button', { name: /^Call back: callback due/ });
    await callBack.click();
    await list.getByText('Calling back (attempt 1 of 3)', { exact: false }).waitFor();
    await audio(robin, 'Audio: connected to the caller').waitFor();
    const placed = peer.placedCalls.at(-1)!;
    expect(placed).toMatchObject({ to: callbackCaller, from: HOTLINE });
    const [leg] = legsFor('callback');
    expect(leg).toMatchObject({ identity: identity(operator), outcome: 'answered', customParameters: { staffId: operator.id } });
    // Only Robin's device rang; Sam's console never heard of it.
    expect((await standInLog(sam)).filter((e) => e.event === 'incoming')).toEqual([]);
    await audio(sam, 'Audio: connected').waitFor();
    expect(await robin.content()).not.toContain(callbackCaller.slice(-7));

    // The callee hangs up: the leg ends and the console's audio is back to waiting for the next.
    peer.hangUp(placed.sid);
    await audio(robin, 'Audio: connected').waitFor();
    expect((await standInLog(robin)).find((e) => e.event === 'disconnect' && e.callSid === leg.callSid)).toMatchObject({ by: 'remote' });
  });

  it('a leg meant for another console is refused at once; a leg nobody announced, after the grace; the console is unchanged', async () => {
    const before = await screen(robin);
    // A leg naming Sam, rung at Robin's identity (as a misrouted leg would be).
    const elsewhere = ring(identity(operator), { staffId: colleague.id, purpose: 'transfer' });
    expect(await elsewhere.outcome).toBe('rejected');
    expect(Date.now() - elsewhere.at).toBeLessThan(VOICE_LEG_GRACE_MS);
    // A leg naming Robin that nobody announced: held for a late announcement, then refused.
    const unannounced = ring(identity(operator), { staffId: operator.id, purpose: 'offer' });
    await waitUntil(async () => (await standInLog(robin)).some((e) => e.event === 'incoming' && e.callSid === unannounced.callSid));
    expect(await screen(robin)).toEqual(before);
    expect(await unannounced.outcome).toBe('rejected');
    expect(Date.now() - unannounced.at).toBeGreaterThanOrEqual(VOICE_LEG_GRACE_MS - 250);
    expect(await screen(robin)).toEqual(before);
    const log = await standInLog(robin);
    for (const sid of [elsewhere.callSid, unannounced.callSid])
      expect(log.filter((e) => e.callSid === sid).map((e) => e.event)).toEqual(['incoming', 'reject']);
  }, 30_000);

  it('offer: the operator accepts and is told the call is connecting until their browser has taken its leg', async () => {
    const page = robin;
    // Robin is available first, so the call is offered to Robin (the longest idle); Sam, available too,
    // is a transfer target once it connects.
    await setAvailable(page, true);
    await setAvailable(sam, true);
    await holdAccepts(page);
    live = await sim.placeCall({ from: liveCaller, digits: ['1'], talkSeconds: Infinity });
    const accept = page.getByRole('button', { name: 'Accept' });
    await accept.waitFor();
    await page.keyboard.press('Enter');
    const connecting = page.getByRole('heading', { name: 'Connecting the call' });
    await connecting.waitFor();
    // The focus follows: Accept is gone, the heading that replaced it has it.
    await waitUntil(() => connecting.evaluate((el) => el === (globalThis as any).document.activeElement));
    await page.getByText('Connecting: your browser is ringing…').waitFor();
    await audio(page, 'Audio: ringing (the call you accepted)').waitFor();
    expect(await page.getByRole('heading', { name: 'Call in progress' }).count()).toBe(0);
    await releaseAccepts(page);
    await page.getByRole('heading', { name: 'Call in progress' }).waitFor();
    await audio(page, 'Audio: connected to the caller').waitFor();
    await sim.waitFor(live.sid, 'connected');
    const [leg] = legsFor('offer').filter((h) => h.outcome === 'answered');
    expect(leg).toMatchObject({ identity: identity(operator), customParameters: { staffId: operator.id } });
  });

  it('a ring while on the call is refused at once, and the call goes on as it was', async () => {
    const before = await screen(robin);
    const second = ring(identity(operator), { staffId: operator.id, purpose: 'offer' });
    expect(await second.outcome).toBe('rejected');
    expect(Date.now() - second.at).toBeLessThan(VOICE_LEG_GRACE_MS);
    expect(await screen(robin)).toEqual(before);
    await audio(robin, 'Audio: connected to the caller').waitFor();
  });

  it('transfer: a warm transfer to a colleague; the colleague’s console takes the transfer leg', async () => {
    await robin.getByRole('button', { name: 'Transfer…' }).click();
    const dialog = robin.getByRole('dialog', { name: 'Transfer the call' });
    await dialog.getByLabel('Transfer to').selectOption({ label: colleague.displayName });
    await dialog.getByRole('button', { name: 'Transfer' }).click();
    await sam.getByRole('heading', { name: 'Call in progress' }).waitFor();
    await audio(sam, 'Audio: connected to the caller').waitFor();
    const [leg] = legsFor('transfer').filter((h) => h.identity === identity(colleague));
    expect(leg).toMatchObject({ outcome: 'answered', customParameters: { staffId: colleague.id } });

    await robin.getByText('The transfer target is on the line', { exact: false }).waitFor();
    await robin.getByRole('button', { name: 'Complete transfer' }).click();
    await robin.getByRole('heading', { name: 'Call ended: wrap-up' }).waitFor();
    // Robin's leg is over: their audio waits for the next.
    await audio(robin, 'Audio: connected').waitFor();
    await robin.getByLabel('Category').selectOption({ index: 1 });
    await robin.getByRole('button', { name: 'Done' }).click();
    await robin.getByText('No call right now', { exact: false }).waitFor();
  });

  it('supervision: the supervisor listens; their browser registers first, takes the supervision leg, and lets it go on Leave', async () => {
    const page = morgan;
    const calls = page.getByRole('region', { name: 'Live calls' });
    const listen = calls.getByRole('button', { name: `Listen to the call of ${colleague.displayName}` });
    await listen.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Listen: why?' });
    await dialog.getByLabel('Reason').fill('Quality review of a transferred call');
    await dialog.getByRole('button', { name: 'Listen' }).click();
    await dialog.waitFor({ state: 'detached' });
    await audio(page, 'Audio: connected to the caller').waitFor();
    await calls.getByText('Supervisor listening').waitFor();
    await sam.getByText('A supervisor is listening to this call', { exact: false }).waitFor();
    const [leg] = legsFor('supervision');
    expect(leg).toMatchObject({ identity: identity(supervisor), outcome: 'answered', customParameters: { staffId: supervisor.id } });
    // Registered before the gateway was asked: the leg rang a device already there.
    const log = await standInLog(page);
    const registered = log.findIndex((e) => e.event === 'registered');
    const incoming = log.findIndex((e) => e.event === 'incoming');
    expect(registered).toBeGreaterThanOrEqual(0);
    expect(incoming).toBeGreaterThan(registered);
    await page.screenshot({ path: join(DOCS, 'supervisor-listening.png') });

    await calls.getByRole('button', { name: `Leave the call of ${colleague.displayName}` }).click();
    await audio(page, 'Audio: off (it turns on when you listen, coach or join)').waitFor();
    await sam.getByText('A supervisor is listening to this call', { exact: false }).waitFor({ state: 'detached' });
    await waitUntil(async () => !peer.devices.isRegistered(identity(supervisor)));
    expect((await standInLog(page)).some((e) => e.event === 'destroyed')).toBe(true);
  });

  it('the caller hangs up: the colleague’s leg ends with the call', async () => {
    await sim.hangUp(live.sid);
    await sam.getByRole('heading', { name: 'Call ended: wrap-up' }).waitFor();
    await audio(sam, 'Audio: connected').waitFor();
    for (const p of [robin, sam, morgan]) expect(await p.content()).not.toContain(liveCaller.slice(-6));
    // Every leg a console took was answered in time; none rang out.
    const ours = peer.devices.history.filter((h) => h.customParameters.purpose);
    expect(ours.filter((h) => h.outcome === 'no-answer')).toEqual([]);
  });

  /** Rings `identity`'s devices as Twilio would a leg with these custom parameters (30 s, longer than the grace). */
  function ring(to: string, p: { staffId: string; purpose: string }) {
    const callSid = randomSid('CA');
    const r = peer.devices.ring(
      callSid,
      to,
      'client:hotline',
      { callId: randomUUID(), purpose: p.purpose, staffId: p.staffId, leg: randomUUID() },
      30_000,
    );
    rings.push(r);
    return { callSid, at: Date.now(), outcome: r.outcome as Promise<LegOutcome> };
  }
});

async function signIn(page: Page, who: { username: string; password: string }): Promise<void> {
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Connected', { exact: true }).waitFor();
  // The line about earlier sign-ins, out of the way of the screenshots.
  await page.locator('.signin-report').getByRole('button', { name: 'Dismiss' }).click();
}

/** The audio state line (a status), with exactly this text. */
function audio(page: Page, text: string): Locator {
  return page.getByRole('status').filter({ hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) });
}

async function setAvailable(page: Page, on: boolean): Promise<void> {
  const available = page.getByRole('switch', { name: 'Available' });
  await waitUntil(() => available.isEnabled());
  if ((await available.getAttribute('aria-checked')) !== String(on)) await available.click();
  await waitUntil(async () => (await available.getAttribute('aria-checked')) === String(on));
}

/** What the operator sees that a leg could change: the audio line, the headings, notices and alerts. */
async function screen(page: Page): Promise<{ audio: string; headings: string[]; notices: string[] }> {
  return {
    audio: (await page.locator('.audio-status').textContent()) ?? '',
    headings: await page.getByRole('heading').allTextContents(),
    notices: [...(await page.locator('.notice').allTextContents()), ...(await page.getByRole('alert').allTextContents())],
  };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

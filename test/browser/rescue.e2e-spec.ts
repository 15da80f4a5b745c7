import { mkdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { INestApplication } from '@nestjs/common';
import Redis from 'ioredis';
import { Browser, BrowserContext, Page, chromium } from 'playwright-core';
import { StaffService } from '@hotline/auth';
import { CallerSimulator } from '../support/caller-simulator';
import { envFor } from '../support/env-for';
import { FakeClock } from '../support/fake-clock';
import { TEST_SECRETS } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import { startRecordsApp } from '../support/records-app';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../support/gateway-app';
import { TwilioWebhooks, placeCall, twimlAttr } from '../support/webhooks';

/**
 * Issue 15 in the browser, by keyboard and accessible names: the operator's callback list (a
 * caller who could not wait asked for one through the overflow menu) and Call back; then active
 * rescue: the operator asks on an imminent-risk call, the supervisor approves with a reason, and
 * both see the number and location read live from Twilio.
 */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PUBLIC_URL = 'http://localhost:3000';
const HOTLINE = '+15550000000';
const DOCS = process.env.UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs') : join(__dirname, '..', '..', 'test-results');
const run = Date.now().toString(36);

function routingFile(): string {
  const path = join(tmpdir(), `hotline-routing-browser-${process.pid}.yaml`);
  writeFileSync(
    path,
    [
      'version: "browser-1"',
      'timeZone: UTC',
      'openingHours:',
      ...['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => `  ${d}: ["00:00-24:00"]`),
      'maxWait: PT5M',
      'nobodyAvailableAfter: PT1H',
      'overflow: [keep_waiting, callback, voicemail]',
      `hotlineNumber: "${HOTLINE}"`,
    ].join('\n'),
  );
  return path;
}

describe('callbacks and active rescue in the console', () => {
  let records: INestApplication;
  let gateway: INestApplication;
  let peer: TwilioPeer;
  let sim: CallerSimulator;
  let hooks: TwilioWebhooks;
  let browser: Browser;
  let gatewayUrl: string;
  let operatorPage: Page;
  let supervisorPage: Page;
  const clock = new FakeClock();
  const contexts: BrowserContext[] = [];
  const operator = { username: `resop_${run}`, password: 'operator-pass-0123', displayName: 'Sam Operator' };
  const supervisor = { username: `ressup_${run}`, password: 'supervisor-pass-0123', displayName: 'Alex Supervisor' };
  const caller = '+15555550134';

  beforeAll(async () => {
    const env = envFor();
    const redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    await redis.quit();
    peer = await startTwilioPeer();
    // These consoles run without browser audio (no API key, as in the demo): nothing registers a
    // voice device, so each leg is answered for them after a ring. test/browser/voice-legs.e2e-spec.ts
    // drives the console's own device and its choice of legs.
    peer.devices.answerUnregisteredAfterMs = 150;
    const vars = { TWILIO_API_URL: peer.url, PUBLIC_URL, ROUTING_CONFIG: routingFile() };
    const started = await startRecordsApp(vars, { listen: true, clock });
    records = started.app;
    ({ app: gateway, base: gatewayUrl, hooks } = await startGatewayApp(envFor({ ...vars, RECORDS_URL: started.url }), { clock }));
    const staff = records.get(StaffService);
    await staff.create({ ...operator, role: 'operator' }, { system: 'browser-test' });
    await staff.create({ ...supervisor, role: 'supervisor' }, { system: 'browser-test' });
    sim = new CallerSimulator({
      gatewayUrl,
      publicUrl: PUBLIC_URL,
      accountSid: TEST_SECRETS.TWILIO_ACCOUNT_SID,
      authToken: TEST_SECRETS.TWILIO_AUTH_TOKEN,
      peer,
      hangUpProbability: 0,
      waitPollSeconds: 2,
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const open = async () => {
      const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(gatewayUrl);
      return page;
    };
    supervisorPage = await open();
    operatorPage = await open();
    mkdirSync(DOCS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    hooks?.close();
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await sim?.stop();
    for (const app of [gateway, records]) await app?.close();
    await peer?.stop();
  }, 30_000);

  async function signIn(page: Page, who: { username: string; password: string }) {
    await page.getByLabel('Username').focus();
    await page.keyboard.type(who.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(who.password);
    await page.keyboard.press('Enter');
    await page.getByText('Connected', { exact: true }).waitFor();
  }

  it('a caller who waited too long asks for a callback; the operator sees it in their list and calls back by keyboard', async () => {
    // Through the signed webhooks: past the maximum wait, choice 2 (callback), then 1 (agree).
    const call = await placeCall(hooks, { digits: '2', from: '+15555550112' });
    clock.advance(6 * 60_000);
    const offer = await hooks.post(call.waitUrl, { CallSid: call.callSid, From: call.from });
    const consent = await hooks.post(twimlAttr(offer.text, 'Gather', 'action')!, { CallSid: call.callSid, From: call.from, Digits: '2' });
    const booked = await hooks.post(twimlAttr(consent.text, 'Gather', 'action')!, { CallSid: call.callSid, From: call.from, Digits: '1' });
    expect(booked.text).toContain('<Leave/>');
    await hooks.post('/twilio/voice/status', { CallSid: call.callSid, From: call.from, CallStatus: 'completed', SequenceNumber: '3' });

    await signIn(supervisorPage, supervisor);
    await supervisorPage
      .getByRole('region', { name: 'Callbacks' })
      .getByText(/1\s+due/)
      .waitFor();
    await signIn(operatorPage, operator);
    const list = operatorPage.getByRole('region', { name: 'Callbacks due' });
    const callBack = list.getByRole('button', { name: /^Call back: callback due/ });
    await callBack.waitFor();
    const available = operatorPage.getByRole('switch', { name: 'Available' });
    await available.focus();
    await operatorPage.keyboard.press('Space');
    await waitUntil(async () => (await available.getAttribute('aria-checked')) === 'true');
    await operatorPage.screenshot({ path: join(DOCS, 'operator-callbacks.png') });
    await callBack.focus();
    await operatorPage.keyboard.press('Enter');
    await list.getByText('Calling back (attempt 1 of 3)', { exact: false }).waitFor();
    // Away while calling back: no live call is offered meanwhile.
    await waitUntil(async () => (await available.getAttribute('aria-checked')) === 'false');
    expect(peer.placedCalls.at(-1)).toMatchObject({ to: call.from, from: HOTLINE });
    expect(await operatorPage.content()).not.toContain(call.from.slice(-7));
  });

  it('the operator asks for the caller’s number and location on an imminent-risk call; the supervisor approves with a reason; both see them; at wrap-up a follow-up is scheduled, all by keyboard', async () => {
    const page = operatorPage;
    const live = await sim.placeCall({
      from: caller,
      digits: ['2'],
      talkSeconds: Infinity,
      location: { FromCity: 'PORTLAND', FromState: 'OR', FromZip: '97201', FromCountry: 'US' },
    });
    peer.registerCall(live.sid, caller, HOTLINE);
    const available = page.getByRole('switch', { name: 'Available' });
    await available.focus();
    await page.keyboard.press('Space');
    const accept = page.getByRole('button', { name: 'Accept' });
    await accept.waitFor();
    await accept.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Call in progress' }).waitFor();

    await page.getByLabel('Risk').selectOption('imminent');
    await page.getByText('Supervisors have been alerted', { exact: false }).first().waitFor();
    await page.getByLabel('Why is a rescue needed?').focus();
    await page.keyboard.type('Caller has taken tablets and will not say where they are.');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByText('Waiting for a supervisor to approve.', { exact: false }).waitFor();

    const review = supervisorPage.getByRole('button', { name: /^Review the rescue request of/ });
    await review.waitFor();
    await review.focus();
    await supervisorPage.keyboard.press('Enter');
    const dialog = supervisorPage.getByRole('dialog', { name: 'Approve an active rescue' });
    await dialog.getByLabel('Reason for approval').waitFor();
    await supervisorPage.keyboard.type('Imminent overdose confirmed by the operator; dispatch an ambulance.');
    await supervisorPage.screenshot({ path: join(DOCS, 'rescue-approval.png') });
    await supervisorPage.keyboard.press('Tab');
    await supervisorPage.keyboard.press('Enter');
    await dialog.getByText(caller, { exact: true }).waitFor();
    await dialog.getByText('PORTLAND, OR, 97201, US').waitFor();

    await page.getByText(caller, { exact: true }).waitFor();
    await page.getByText('PORTLAND, OR, 97201, US').waitFor();
    await page.screenshot({ path: join(DOCS, 'rescue-operator.png') });
    await supervisorPage.keyboard.press('Escape');

    // The caller hangs up; at wrap-up the operator schedules the follow-up the caller agreed to, by keyboard.
    await sim.hangUp(live.sid);
    await page.getByRole('heading', { name: 'Call ended: wrap-up' }).waitFor();
    // Once the call is over the number is no longer on screen.
    await page.getByText('the caller’s number and location are no longer shown', { exact: false }).waitFor();
    const agreed = page.getByRole('checkbox', { name: 'The caller agreed to a follow-up call' });
    await agreed.focus();
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByText('Follow-up call scheduled for', { exact: false }).waitFor();
    expect(await page.content()).not.toContain(caller.slice(-7).replace('+', ''));
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

import { INestApplication } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import Redis from 'ioredis';
import { mkdirSync } from 'fs';
import { join } from 'path';
import { Browser, BrowserContext, Locator, Page, chromium } from 'playwright-core';
import { StaffService } from '@hotline/auth';
import { createWorkerApp } from '../../apps/worker/src/bootstrap';
import { CallerSimulator, SimCall } from '../support/caller-simulator';
import { envFor } from '../support/env-for';
import { TEST_SECRETS } from '../support/test-config';
import { TwilioPeer } from '../support/twilio-peer';
import { startRecordsApp } from '../support/records-app';
import { clearRouting, startGatewayApp, startTwilioPeer } from '../support/gateway-app';

/**
 * The console as its users meet it: Debian's chromium, the three apps, the local Twilio peer and
 * the caller simulator. Elements are found by their accessible names, as a person (or a screen
 * reader) finds them.
 */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PUBLIC_URL = 'http://localhost:3000';
// The committed screenshots in docs/ are refreshed with UPDATE_SCREENSHOTS=1; other runs (CI) write
// theirs to test-results/ so that a test run never leaves the work tree changed.
const DOCS = process.env.UPDATE_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs') : join(__dirname, '..', '..', 'test-results');
const run = Date.now().toString(36);

describe('the console in a browser', () => {
  let records: INestApplication;
  let gateway: INestApplication;
  let worker: INestApplication;
  let peer: TwilioPeer;
  let sim: CallerSimulator;
  let browser: Browser;
  let gatewayUrl: string;
  let operatorPage: Page;
  let supervisorPage: Page;
  let call: SimCall;
  let second: SimCall;
  const contexts: BrowserContext[] = [];
  const operator = { username: `op_${run}`, password: 'operator-pass-0123', displayName: 'Robin Operator' };
  const supervisor = { username: `sup_${run}`, password: 'supervisor-pass-0123', displayName: 'Morgan Supervisor' };
  const caller = '+447700900456';

  beforeAll(async () => {
    // The wallboard's figures are today's, in Redis: start from none, whatever suites ran before in this run.
    const env = envFor();
    const redis = new Redis(env.REDIS_URL);
    await clearRouting(redis);
    await redis.quit();
    peer = await startTwilioPeer();
    // These consoles run without browser audio (no API key, as in the demo): nothing registers a
    // voice device, so each leg is answered for them after a ring. test/browser/voice-legs.e2e-spec.ts
    // drives the console's own device and its choice of legs.
    peer.devices.answerUnregisteredAfterMs = 150;
    const started = await startRecordsApp({}, { listen: true });
    records = started.app;
    const recordsUrl = started.url;
    ({ app: gateway, base: gatewayUrl } = await startGatewayApp(
      envFor({ RECORDS_URL: recordsUrl, TWILIO_API_URL: peer.url, PUBLIC_URL, CALL_BRIDGE: 'conference' }),
    ));
    worker = await createWorkerApp(envFor());
    await worker.listen(0, '127.0.0.1');

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
      const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
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
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await sim?.stop();
    for (const app of [gateway, worker, records]) await app?.close();
    await peer?.stop();
  }, 30_000);

  it('a supervisor signs in and sees the wallboard, live', async () => {
    const page = supervisorPage;
    await page.getByLabel('Username').fill(supervisor.username);
    await page.getByLabel('Password').fill(supervisor.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Connected', { exact: true }).waitFor();
    await tile(page, 'Waiting').getByText('0', { exact: true }).waitFor();
    // The page's one h1 is its header; My account and Hand over calls are in the header, not floating over the page.
    await page.getByRole('heading', { level: 1, name: 'Hotline Supervisor' }).waitFor();
    expect(await page.getByRole('heading', { level: 1 }).count()).toBe(1);
    const header = page.getByRole('banner');
    await header.getByRole('button', { name: 'My account' }).waitFor();
    await header.getByRole('button', { name: 'Hand over calls' }).waitFor();
  });

  it('an operator signs in with the keyboard alone, and the session survives a reload', async () => {
    const page = operatorPage;
    await page.getByLabel('Username').fill(operator.username);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('The username or password is not right.').waitFor();
    await page.getByLabel('Username').fill('');
    await page.getByLabel('Username').focus();
    await page.keyboard.type(operator.username);
    await page.keyboard.press('Tab');
    await page.keyboard.type(operator.password);
    await page.keyboard.press('Enter');
    await page.getByText('Connected', { exact: true }).waitFor();
    await page.getByRole('heading', { level: 1, name: 'Hotline Operator' }).waitFor();
    await page.getByRole('banner').getByRole('button', { name: 'My account' }).waitFor();
    await page.reload();
    await page.getByText('Connected', { exact: true }).waitFor();
    const available = page.getByRole('switch', { name: 'Available' });
    await waitUntil(() => available.isEnabled());
    expect(await available.getAttribute('aria-checked')).toBe('false');
    // No Twilio API key here: GET /voice/token answers 503, and the console says calls still connect, without audio.
    await page.getByRole('status').filter({ hasText: 'Audio: not configured (calls connect by phone routing only)' }).waitFor();
    expect(await page.getByRole('button', { name: 'Mute' }).count()).toBe(0);
  });

  it('a caller rings and waits: the supervisor sees the waiting count change', async () => {
    call = await sim.placeCall({ from: caller, digits: ['1'], talkSeconds: Infinity });
    expect(call.state).toBe('queued');
    await tile(supervisorPage, 'Waiting').getByText('1', { exact: true }).waitFor();
    await supervisorPage.getByRole('region', { name: 'Waiting calls' }).getByText('Caller 1').waitFor();
    // Nothing covers the waiting caller (the account buttons used to float over this corner).
    expect(await uncovered(supervisorPage.getByRole('region', { name: 'Waiting calls' }).getByText('Caller 1'))).toBe(true);
  });

  it('the operator goes available, is offered the call and accepts it with Enter', async () => {
    const page = operatorPage;
    await page.getByRole('switch', { name: 'Available' }).click();
    await waitUntil(async () => (await page.getByRole('switch', { name: 'Available' }).getAttribute('aria-checked')) === 'true');
    const accept = page.getByRole('button', { name: 'Accept' });
    await accept.waitFor();
    await page.getByRole('button', { name: 'Decline' }).waitFor();
    await page.getByRole('timer').first().waitFor();
    // The offer takes the focus, so Enter answers it.
    await waitUntil(() => accept.evaluate((el) => el === (globalThis as any).document.activeElement));
    await page.keyboard.press('Enter');
    await sim.waitFor(call.sid, 'connected');
    expect(call.dialled).toBeTruthy();
    await page.getByRole('heading', { name: 'Call in progress' }).waitFor();
    await tile(supervisorPage, 'Waiting').getByText('0', { exact: true }).waitFor();
    await tile(supervisorPage, 'On a call').getByText('1', { exact: true }).waitFor();
  });

  it('the operator writes a note and amends it; the first stays on record', async () => {
    const page = operatorPage;
    const note = (text: string) => page.getByRole('listitem').filter({ hasText: text });
    await page.getByLabel('Note').fill('Caller is frightened and alone tonight; talked through what happened.');
    expect(await uncovered(page.getByRole('button', { name: 'Add note' }))).toBe(true);
    await page.getByRole('button', { name: 'Add note' }).click();
    await note('Caller is frightened and alone tonight').waitFor();
    await note('Caller is frightened and alone tonight').getByRole('button', { name: 'Amend' }).click();
    await page.getByText('the original stays on record', { exact: false }).waitFor();
    await page.getByLabel('Note').fill('Correction: the caller is with a neighbour, not alone.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await note('Correction: the caller is with a neighbour')
      .getByText(/Amends the note of/)
      .waitFor();
    expect(await note('Caller is frightened and alone tonight').count()).toBe(1);
  });

  it('the operator assesses imminent risk and records the escalation; the supervisor is alerted, and catches up after a dropped connection', async () => {
    const page = operatorPage;
    await page.getByLabel('Risk').selectOption('imminent');
    await page.getByText('Supervisors have been alerted', { exact: false }).first().waitFor();
    await page.getByLabel('Disclosed to').fill('Ambulance control room');
    await page.getByLabel('Legal basis').selectOption({ index: 1 });
    await page.getByRole('checkbox', { name: 'Caller’s location' }).check();
    await page.getByRole('checkbox', { name: 'Summary of the situation' }).check();
    await page.getByLabel('Emergency services confirmed contact at').fill(localDateTime(new Date()));
    const record = page.getByRole('button', { name: 'Record escalation' });
    await record.focus();
    await page.screenshot({ path: join(DOCS, 'operator-console.png') });
    await record.click();
    await page.getByText('Escalation recorded', { exact: false }).waitFor();
    await page.getByText('Awaiting a supervisor’s co-signature').waitFor();

    const alert = escalationAlert(supervisorPage, operator.displayName);
    await alert.getByRole('button', { name: 'Co-sign' }).waitFor();
    // The supervisor's connection drops; another caller rings meanwhile (the only operator is busy).
    // socket.io reconnects by itself and the wallboard catches up.
    await supervisorPage.context().setOffline(true);
    await supervisorPage.getByText('Reconnecting…', { exact: true }).waitFor();
    second = await sim.placeCall({ from: '+15555550178', digits: ['2'], talkSeconds: Infinity });
    await supervisorPage.context().setOffline(false);
    await supervisorPage.getByText('Connected', { exact: true }).waitFor();
    await tile(supervisorPage, 'Waiting').getByText('1', { exact: true }).waitFor();
    await supervisorPage.getByRole('region', { name: 'Waiting calls' }).getByText('Caller 1').waitFor();
    await alert.getByRole('button', { name: 'Co-sign' }).waitFor();
    await supervisorPage.screenshot({ path: join(DOCS, 'supervisor-wallboard.png') });
    // Nothing about the caller but a pseudonym ever reaches either page.
    for (const p of [page, supervisorPage]) expect(await p.content()).not.toContain(caller.slice(-6));
  });

  it('the supervisor co-signs from the alert, and opens the call only after stating a reason', async () => {
    const page = supervisorPage;
    const alert = escalationAlert(page, operator.displayName);
    await alert.getByRole('button', { name: 'Co-sign' }).click();
    await alert.getByText('Co-signed.').waitFor();

    await alert.getByRole('button', { name: 'Open call' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Open call' }).click();
    // The reason is required: nothing opens without it.
    await dialog.getByLabel('Reason').waitFor();
    expect(await dialog.getByText('Correction: the caller is with a neighbour').count()).toBe(0);
    await dialog.getByLabel('Reason').fill('Imminent-risk escalation raised: reviewing it as the duty supervisor');
    await dialog.getByRole('button', { name: 'Open call' }).click();
    await dialog.getByText('Correction: the caller is with a neighbour', { exact: false }).waitFor();
    await dialog.getByText('Co-signed by a supervisor').waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await alert.getByRole('button', { name: 'Acknowledge' }).click();
    await alert.waitFor({ state: 'detached' });
  });

  it('the operator puts the caller on hold and asks for help; a supervisor coaches from the wallboard, with a reason', async () => {
    const page = operatorPage;
    const live = supervisorPage.getByRole('region', { name: 'Live calls' });
    await page.getByRole('button', { name: 'Hold', exact: true }).click();
    await page.getByRole('timer', { name: /Caller on hold for/ }).waitFor();
    await page.getByRole('button', { name: 'Resume', exact: true }).waitFor();
    await live.getByText(/On hold/).waitFor();

    await page.getByRole('button', { name: 'Ask for help' }).click();
    await page.getByRole('button', { name: 'Help requested' }).waitFor();
    await live.getByText(/Help asked/).waitFor();
    await supervisorPage.screenshot({ path: join(DOCS, 'supervisor-live-calls.png') });

    // Keyboard: the Coach button, then the reason dialog, which the supervisor must fill in.
    const coach = live.getByRole('button', { name: `Coach to the call of ${operator.displayName}` });
    await coach.focus();
    await supervisorPage.keyboard.press('Enter');
    const dialog = supervisorPage.getByRole('dialog', { name: 'Coach: why?' });
    await dialog.waitFor();
    expect(await dialog.getByRole('button', { name: 'Coach' }).isDisabled()).toBe(true);
    await dialog.getByLabel('Reason').fill('New operator on a high-risk call');
    await dialog.getByRole('button', { name: 'Coach' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('status').filter({ hasText: 'A supervisor is coaching you: only you can hear them.' }).waitFor();
    await live.getByText('Supervisor coaching').waitFor();
    await page.screenshot({ path: join(DOCS, 'operator-call-controls.png') });

    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.getByRole('button', { name: 'Hold', exact: true }).waitFor();
    await live.getByRole('button', { name: `Leave the call of ${operator.displayName}` }).click();
    await page.getByRole('status').filter({ hasText: 'A supervisor is coaching you' }).waitFor({ state: 'detached' });
    // The call lives in its conference: the caller, the operator's leg; the supervisor's leg has gone.
    const conference = [...peer.conferences.all.values()].find((c) => c.participants.has(call.sid));
    expect(conference?.status).toBe('in-progress');
    expect([...conference!.participants.values()].map((p) => p.label?.split(':')[0]).sort()).toEqual(['caller', 'op']);
  });

  it('the caller hangs up: the operator wraps up with a category and is available again', async () => {
    const page = operatorPage;
    await sim.hangUp(second.sid);
    await tile(supervisorPage, 'Abandoned today').getByText('1', { exact: true }).waitFor();
    await sim.hangUp(call.sid);
    await page.getByRole('heading', { name: 'Call ended: wrap-up' }).waitFor();
    await page.getByLabel('Category').selectOption('Suicidal thoughts');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByText('No call right now', { exact: false }).waitFor();
    expect(await page.getByRole('switch', { name: 'Available' }).getAttribute('aria-checked')).toBe('true');
    const history = page.getByRole('region', { name: 'My calls' });
    await history
      .getByRole('button', { name: /View the call/ })
      .first()
      .waitFor();
  });

  it('the operator sends a call back to the queue (cold) with a handover note, sealed to the call like any note', async () => {
    const page = operatorPage;
    const next = await sim.placeCall({ digits: ['2'], talkSeconds: Infinity });
    await page.getByRole('button', { name: 'Accept' }).click();
    await sim.waitFor(next.sid, 'connected');
    await page.getByRole('heading', { name: 'Call in progress' }).waitFor();
    await page.getByRole('button', { name: 'Transfer…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Transfer the call' });
    await dialog.getByLabel('Transfer to').selectOption('queue');
    await dialog.getByLabel(/Handover note/).fill('Caller prefers to speak Welsh; safe tonight.');
    await dialog.getByRole('button', { name: 'Transfer' }).click();
    await page.getByRole('heading', { name: 'Call ended: wrap-up' }).waitFor();
    // The caller is back in the queue (Twilio's <Enqueue>), not left in a silent conference.
    await sim.waitFor(next.sid, 'queued');
    const db = records.get<DataSource>(getDataSourceToken());
    const [row] = await db.query('SELECT COUNT(*) AS n FROM notes n JOIN calls c ON c.id = n.call_id WHERE c.call_sid = ?', [next.sid]);
    expect(Number(row.n)).toBe(1);
    const text = JSON.stringify(await db.query('SELECT * FROM notes n JOIN calls c ON c.id = n.call_id WHERE c.call_sid = ?', [next.sid]));
    expect(text).not.toContain('Welsh');
    await page.getByLabel('Category').selectOption('Suicidal thoughts');
    await page.getByRole('button', { name: 'Done' }).click();
    await sim.hangUp(next.sid);
  });
});

/**
 * The alert our operator raised. Redis pub/sub ignores the database number, so a wallboard may also
 * show alerts that another run on the same Redis server published (never in CI, which runs alone).
 */
function escalationAlert(page: Page, raisedBy: string): Locator {
  return page
    .getByRole('alert')
    .filter({ hasText: 'Imminent risk' })
    .filter({ hasText: `Raised by ${raisedBy}` });
}

/** A wallboard figure, found by its label. */
function tile(page: Page, label: string): Locator {
  return page.getByRole('group', { name: label, exact: true });
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The value a datetime-local input takes: local time, to the minute. */
function localDateTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Whether what the page shows at the middle of `target` (scrolled into view) is the target itself: nothing covers it. */
async function uncovered(target: Locator): Promise<boolean> {
  await target.scrollIntoViewIfNeeded();
  return target.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const top = (globalThis as any).document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    return el.contains(top);
  });
}

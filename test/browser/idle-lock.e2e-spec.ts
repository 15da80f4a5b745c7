import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Browser, BrowserContext, Page, chromium } from 'playwright-core';
import { PROJECT_ROOT } from '@hotline/config';
import { envFor } from '../support/env-for';
import { GatewayTestApp, startGatewayApp } from '../support/gateway-app';
import { FakeClock } from '../support/fake-clock';
import { withRecordsApp } from '../support/records-app';
import { totpCode } from '../support/staff-sign-in';
import { connectConsole, eventually } from '../support/webhooks';

/**
 * Issue 24 in the browser: the idle lock is the server's (a reload shows it, and the session's
 * requests and sockets get nothing until the password is given), and a new agreement published
 * while a console is open reaches it within a second; adding a passkey or changing a password a
 * while after signing in asks for the password and code again (step-up). The agreement directory is
 * the test's own copy of config/agreements, so that a version can be published.
 */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('the idle lock and new agreements in the console', () => {
  const agreements = mkdtempSync(join(tmpdir(), 'hotline-agreements-'));
  copyFileSync(join(PROJECT_ROOT, 'config', 'agreements', '1.md'), join(agreements, '1.md'));
  const clock = new FakeClock();
  const records = withRecordsApp({ AGREEMENTS_DIR: agreements, SECOND_FACTOR_ROLES: 'supervisor' }, { listen: true, clock });
  let gateway: GatewayTestApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    gateway = await startGatewayApp(envFor({ RECORDS_URL: records.url, AGREEMENTS_DIR: agreements }));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  }, 60_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await gateway?.app.close();
    rmSync(agreements, { recursive: true, force: true });
  });

  async function signedIn(opts: { clock?: boolean } = {}): Promise<{ page: Page; password: string; websockets: string[] }> {
    const op = await records.f.staff('operator');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const websockets: string[] = [];
    page.on('websocket', (ws) => websockets.push(ws.url()));
    if (opts.clock) await page.clock.install();
    await page.goto(gateway.base);
    await page.getByLabel('Username').fill(op.username);
    await page.getByLabel('Password').fill(op.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'I have read and accept this agreement' }).click();
    await page.getByRole('heading', { name: 'My calls' }).waitFor();
    await page.getByText('Connected', { exact: true }).waitFor();
    return { page, password: op.password, websockets };
  }

  const tokenOf = (page: Page) =>
    page.evaluate(() => JSON.parse((globalThis as any).sessionStorage.getItem('hotline.session')).token as string);
  const apiStatus = (page: Page, path: string) =>
    page.evaluate(async (p) => {
      const token = JSON.parse((globalThis as any).sessionStorage.getItem('hotline.session')).token;
      const res = await fetch(`/api${p}`, { headers: { Authorization: `Bearer ${token}` } });
      return { status: res.status, error: ((await res.json()) as { error?: string }).error };
    }, path);

  it('a locked console reloaded shows the lock; its requests and sockets get nothing until the password is given', async () => {
    const { page, password, websockets } = await signedIn({ clock: true });
    const token = await tokenOf(page);
    await page.clock.fastForward('10:05');
    await page.getByRole('heading', { name: 'Console locked' }).waitFor();

    // The lock is the server's (POST /auth/lock, sent as it locked): records refuses the session, the gateway its sockets.
    await eventually(async () => (await apiStatus(page, '/calls')).error === 'locked', 3000);
    await expect(connectConsole(gateway.base, '/operator', token)).rejects.toThrow('locked');

    // Reloaded, the page asks records and shows the lock again: no view, no live connection.
    const opened = websockets.length;
    await page.reload();
    await page.getByRole('heading', { name: 'Console locked' }).waitFor();
    await page.waitForTimeout(1000);
    expect(await page.getByRole('heading', { name: 'My calls' }).count()).toBe(0);
    expect(websockets.length).toBe(opened);
    await expect(apiStatus(page, '/calls')).resolves.toEqual({ status: 403, error: 'locked' });

    await page.getByLabel('Password').fill('not-my-password');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('alert').getByText('That password is not right.').waitFor();
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Unlock' }).click();
    // The same session goes on: the view and its live connection come back.
    await page.getByRole('heading', { name: 'My calls' }).waitFor();
    await page.getByText('Connected', { exact: true }).waitFor();
    expect(await tokenOf(page)).toBe(token);
    expect(websockets.length).toBeGreaterThan(opened);
    expect((await apiStatus(page, '/calls')).status).toBe(200);
  }, 60_000);

  it('a new agreement published while a console is connected shows within a second, and nothing else is served until it is accepted', async () => {
    const { page } = await signedIn();
    const token = await tokenOf(page);
    try {
      const published = Date.now();
      writeFileSync(
        join(agreements, '2.md'),
        '# Confidentiality agreement\n\nVersion 2. What callers tell us stays here.\n\n1. No personal phones in the room.\n',
      );
      await page.getByText('No personal phones in the room.').waitFor({ timeout: 5000 });
      const shownAfterMs = Date.now() - published;
      expect(shownAfterMs).toBeLessThan(1000);
      expect(await page.getByRole('heading', { name: 'My calls' }).count()).toBe(0);
      await expect(apiStatus(page, '/calls')).resolves.toEqual({ status: 403, error: 'agreement_required' });
      await expect(connectConsole(gateway.base, '/operator', token)).rejects.toThrow('agreement_required');

      await page.getByRole('button', { name: 'I have read and accept this agreement' }).click();
      await page.getByRole('heading', { name: 'My calls' }).waitFor();
      await page.getByText('Connected', { exact: true }).waitFor();
      expect((await apiStatus(page, '/calls')).status).toBe(200);
      console.log(`a new agreement reached the open console ${shownAfterMs} ms after it was published`);
    } finally {
      rmSync(join(agreements, '2.md'), { force: true });
    }
  }, 60_000);

  it('a password changed a while after signing in asks for the password and code again (step-up), then is changed', async () => {
    const sup = await records.f.staff('supervisor');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(gateway.base);
    await page.getByLabel('Username').fill(sup.username);
    await page.getByLabel('Password').fill(sup.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
    await page.getByLabel('Code from the app').fill(totpCode(secret, clock.nowMs()));
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    await page.getByRole('button', { name: 'I have kept them' }).click();
    await page.getByRole('button', { name: 'I have read and accept this agreement' }).click();
    await page.getByText('Connected', { exact: true }).first().waitFor();

    clock.advance(6 * 60 * 1000); // the sign-in's proof is older than the step-up window now
    await page.getByRole('button', { name: 'My account' }).click();
    await page.getByLabel('Current password').fill(sup.password);
    await page.getByLabel(/^New password/).fill('harbour lantern quietly seventy');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
    await page.getByLabel('Password', { exact: true }).fill(sup.password);
    await page.getByLabel(/^Code from your authenticator app/).fill(totpCode(secret, clock.nowMs() + 30_000));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('status').filter({ hasText: 'Your password is changed.' }).waitFor();
    expect(await records.f.count('audit_log', "action = 'auth.stepped_up' AND target_id = ?", [sup.id])).toBe(1);
  }, 60_000);
});

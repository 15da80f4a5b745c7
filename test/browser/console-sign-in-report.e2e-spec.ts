import { Browser, Page, chromium } from 'playwright-core';
import { envFor } from '../support/env-for';
import { GatewayTestApp, startGatewayApp } from '../support/gateway-app';
import { withRecordsApp } from '../support/records-app';

/**
 * After signing in, the console tells the member when they last signed in and how many attempts
 * failed since (records' `lastSignInAt` and `failedAttemptsSince`), in a status line found by its
 * role, as a screen reader finds it.
 */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('the console after sign-in', () => {
  const records = withRecordsApp({}, { listen: true });
  let gateway: GatewayTestApp;
  let browser: Browser;

  beforeAll(async () => {
    gateway = await startGatewayApp(envFor({ RECORDS_URL: records.url }));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.app.close();
  });

  const signIn = async (page: Page, username: string, password: string) => {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  it('says how many attempts failed since the last sign-in, and when that was', async () => {
    const op = await records.f.staff('operator');
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(gateway.base);

      await signIn(page, op.username, 'not-the-password');
      await page.getByRole('alert').getByText('The username or password is not right.').waitFor();
      await signIn(page, op.username, op.password);
      await page
        .getByRole('status')
        .filter({ hasText: 'First sign-in to this account. 1 failed attempt before it. If they were not yours, tell an admin.' })
        .waitFor();

      await page.getByRole('button', { name: 'Sign out' }).click();
      for (let i = 0; i < 3; i++) {
        await signIn(page, op.username, `wrong-${i}-password`);
        await page.getByRole('alert').getByText('The username or password is not right.').waitFor();
      }
      await signIn(page, op.username, op.password);
      const line = page.getByRole('status').filter({ hasText: /^Last sign-in: today \d\d:\d\d( [AP]M)?\. 3 failed attempts since\./ });
      await line.waitFor();
      await line.getByRole('button', { name: 'Dismiss' }).click();
      await line.waitFor({ state: 'detached' });

      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(page, op.username, op.password);
      await page
        .getByRole('status')
        .filter({ hasText: /^Last sign-in: today \d\d:\d\d( [AP]M)?\. No failed attempts since\.Dismiss$/ })
        .waitFor();
    } finally {
      await context.close();
    }
  }, 60_000);
});

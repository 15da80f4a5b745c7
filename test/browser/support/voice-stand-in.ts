import { join } from 'path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildConsoleBundle } from '../../../apps/gateway/src/console/console-bundle';

/**
 * The console with a stand-in for the Twilio Voice SDK (./fake-voice-sdk.js), for browser tests of
 * its voice legs against the local Twilio peer.
 *
 * How the SDK is swapped: the console bundle is one script (esbuild `format: 'iife'`, no chunks: the
 * console's `import('@twilio/voice-sdk')` is inlined), so there is no SDK file to route on its own.
 * The test builds the same bundle from the same sources with the package aliased to the stand-in
 * (`buildConsoleBundle(swap)`) and has Playwright serve that script in place of `/console/app.js`
 * (`context.route`). The console's code is the shipped code; only the SDK module differs.
 *
 * The stand-in reaches the peer at its own address (given by an init script), which the console's
 * Content-Security-Policy does not list (it allows Twilio's hosts): the context bypasses the CSP.
 * The policy itself is the gateway's and is checked where it is made (bootstrap.ts).
 */
export const FAKE_VOICE_SDK = join(__dirname, 'fake-voice-sdk.js');

let script: Promise<Buffer> | undefined;

/** The console's script with the stand-in SDK (built once per test process). */
export function consoleWithStandIn(): Promise<Buffer> {
  script ??= buildConsoleBundle({ '@twilio/voice-sdk': FAKE_VOICE_SDK }).then((b) => b['app.js'].body);
  return script;
}

/** A browser context whose console page runs the stand-in SDK against the Twilio peer at `peerUrl`. */
export async function standInContext(
  browser: Browser,
  peerUrl: string,
  opts: { viewport?: { width: number; height: number } } = {},
): Promise<BrowserContext> {
  const body = await consoleWithStandIn();
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1366, height: 900 }, bypassCSP: true });
  await context.addInitScript((url: string) => {
    (globalThis as any).__HOTLINE_TWILIO_PEER__ = url;
    (globalThis as any).__fakeVoice = { log: [], devices: [], held: false, waiting: [] };
  }, peerUrl);
  await context.route('**/console/app.js*', (route) =>
    route.fulfill({ status: 200, body, headers: { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' } }),
  );
  return context;
}

/** What the stand-in's devices did on `page`, in order (registered, incoming, accept, open, reject, cancel, disconnect, destroyed). */
export interface StandInEvent {
  at: number;
  event: string;
  callSid?: string;
  identity?: string;
  customParameters?: Record<string, string>;
  by?: 'local' | 'remote';
}

export function standInLog(page: Page): Promise<StandInEvent[]> {
  return page.evaluate(() => (globalThis as any).__fakeVoice?.log ?? []);
}

/** The stand-in answers the legs the console accepts only when released (to see the console in between). */
export async function holdAccepts(page: Page): Promise<void> {
  await page.evaluate(() => ((globalThis as any).__fakeVoice.held = true));
}

export async function releaseAccepts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const v = (globalThis as any).__fakeVoice;
    v.held = false;
    for (const release of v.waiting.splice(0)) release();
  });
}

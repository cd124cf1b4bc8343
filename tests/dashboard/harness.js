// What the browser tests in this directory share: the release gateway-sim binary on
// 127.0.0.1:0 (started as the stripe-node suite starts it: ../stripe_node/simulator.js, which
// needs nothing but Node), and Debian's Chromium (CHROMIUM_BIN, else /usr/bin/chromium),
// headless, with a fresh profile.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export { startSimulator } from '../stripe_node/simulator.js';

const browserBinary = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** How long a test waits for the page to show something. */
export const WAIT = { timeout: 10000 };

/** Headless Chromium with a fresh profile; `close()` removes the profile too. */
export async function browser() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-sim-browser-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: browserBinary,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const page = context.pages()[0] ?? await context.newPage();
  return {
    context,
    page,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

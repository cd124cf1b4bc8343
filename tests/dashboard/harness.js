// What the browser tests in this directory share: the release gateway-sim binary
// (GATEWAY_SIM_BIN, else $CARGO_TARGET_DIR/release/gateway-sim, else target/release/gateway-sim)
// on 127.0.0.1:0, and Debian's Chromium (CHROMIUM_BIN, else /usr/bin/chromium), headless,
// with a fresh profile.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const target = process.env.CARGO_TARGET_DIR ?? path.join(here, '..', '..', 'target');
const binary = process.env.GATEWAY_SIM_BIN ?? path.join(target, 'release', 'gateway-sim');
const browserBinary = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** How long a test waits for the page to show something. */
export const WAIT = { timeout: 10000 };

/** Starts gateway-sim with `args`; resolves with its URL once it says where it listens. */
export function startSimulator(args = []) {
  const child = spawn(binary, ['--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway-sim did not start: ${stderr}`)), 30000);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/gateway-sim listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop: () => child.kill() });
      }
    });
    child.on('exit', (code) => reject(new Error(`gateway-sim exited ${code}: ${stderr}`)));
  });
}

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

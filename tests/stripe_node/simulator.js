// Starts the release gateway-sim binary (GATEWAY_SIM_BIN, else
// $CARGO_TARGET_DIR/release/gateway-sim, else target/release/gateway-sim) for the tests in
// this directory.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const target = process.env.CARGO_TARGET_DIR ?? path.join(here, '..', '..', 'target');
const binary = process.env.GATEWAY_SIM_BIN ?? path.join(target, 'release', 'gateway-sim');

/** Starts gateway-sim with `args`; resolves with its URL once it says where it listens. */
export function startSimulator(args = []) {
  const child = spawn(binary, ['--listen', '127.0.0.1:0', '--seed', '1', ...args], {
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

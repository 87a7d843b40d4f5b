// Starts `elarin serve` for a test on a free loopback port (--port 0: the server prints the port
// it got) and stops it. Shared by the serve tests; not a test itself.
//
//   const server = await startServe(['--model', dir, '--parallel', '2']);
//   ... fetch(`${server.url}/health`) ...
//   await server.stop();
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const elarin = process.env.ELARIN || path.join(root, 'build', 'elarin');
export const skip = existsSync(elarin) ? false : `${elarin} not built (set ELARIN)`;

// Runs elarin to the end; returns the last JSON line of stdout.
export function runJson(args) {
  const r = spawnSync(elarin, ['-q', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`elarin ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

export function startServe(args, { timeoutMs = 120000 } = {}) {
  const proc = spawn(elarin, ['-q', 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    proc.stdout.on('data', (d) => {
      stdout += d;
      const m = stdout.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`serve exited (${code}) before listening: ${stderr}`)); });
  });
  return ready.then((url) => ({
    url,
    proc,
    stderr: () => stderr,
    exited,
    // SIGTERM, then the exit status (0 when it stopped cleanly).
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  }));
}

// Starts `elarin serve` (or `elarin brain --serve`) for a test on a free loopback port (--port 0:
// the server prints the port it got) and stops it. Shared by the serve tests; not a test itself.
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

export function startServe(args, options = {}) {
  return startListening(['serve', '--port', '0', ...args], options);
}

// `elarin brain --serve` (the dashboard) on a free loopback port; `args` follow --serve.
export function startBrain(args, options = {}) {
  return startListening(['brain', '--serve', '--port', '0', ...args], options);
}

// Any elarin command that prints "listening on http://HOST:PORT" once it serves.
export function startListening(command, { timeoutMs = 120000, env } = {}) {
  const proc = spawn(elarin, ['-q', ...command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env,
  });
  let stdout = '';
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command[0]} did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    proc.stdout.on('data', (d) => {
      stdout += d;
      const m = stdout.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`${command[0]} exited (${code}) before listening: ${stderr}`)); });
  });
  return ready.then((url) => ({
    url,
    proc,
    stderr: () => stderr,
    stdout: () => stdout,
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

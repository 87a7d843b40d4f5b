// Benchmarks the dashboard (docs/BENCHMARKS.md), in one run, on the quick brain of the tests
// (configs/default.yaml's regions, MNIST digits), every run starting from the same developed
// state:
//   - overhead: ticks/s of `elarin brain --headless --steps N` against `elarin brain --serve
//     --headless --steps N` with the page open in headless Chromium, in paired rounds (median);
//   - live loop: a person's rating clicked in the page (critic off: the brain waits for it) until
//     its answer, which the API sends once the hypothalamus has turned it into dopamine and the
//     regions have learned: p50 / p99 over `clicks` ratings, measured in the page from the click
//     event's timestamp.
// Prints one JSON line. Usage:
//   node bench/dashboard.mjs [--steps 3000] [--rounds 3] [--clicks 200]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { KEY, quickArgs } from '../tests/serve/brain_process.mjs';
import { elarin, startBrain } from '../tests/serve/serve_process.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const num = (k, d) => (args[k] === undefined ? d : Number(args[k]));
const steps = num('steps', 3000), rounds = num('rounds', 3), clicks = num('clicks', 200);
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const log = (...m) => console.error('bench dashboard:', ...m);
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };
const median = (xs) => pct(xs, 50);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'elarin-bench-dashboard-'));
const developed = path.join(tmp, 'developed');
// Grow and develop once (one episode), so each run below starts from the same state.
const grow = spawnSync(elarin, ['-q', 'brain', '--headless', '--steps', '1', ...quickArgs(developed)], { encoding: 'utf8' });
if (grow.status !== 0) throw new Error(`growing the brain failed: ${grow.stderr}`);
const fresh = (name) => { const d = path.join(tmp, name); rmSync(d, { recursive: true, force: true }); cpSync(developed, d, { recursive: true }); return d; };

const browser = await chromium.launch({ executablePath: browserPath, args: ['--no-sandbox'] });
async function openPage(url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.addInitScript((key) => localStorage.setItem('elarin-api-key', key), KEY);
  await page.goto(`${url}/`);
  return page;
}

// `elarin brain --serve` leaves a core to serving (all but one for the brain, when threads are
// left to elarin): the headless brain is measured both as it runs by default and on as many
// threads as the served one.
const serveThreads = Math.max(1, os.cpus().length - 1);
const headless = (threads) => {
  const r = spawnSync(elarin, ['-q', ...(threads ? ['--threads', String(threads)] : []), 'brain', '--headless', '--json', '--steps', String(steps), ...quickArgs(fresh('a'))], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()).ticks_per_s;
};
const served = async () => {
  const server = await startBrain(['--headless', '--json', '--steps', String(steps), '--api-key', KEY, ...quickArgs(fresh('b'))]);
  const page = await openPage(server.url);
  const { code } = await server.exited;
  await page.close();
  if (code !== 0) throw new Error(server.stderr());
  return JSON.parse(server.stdout().trim().split('\n').pop()).ticks_per_s;
};

const overhead = [];
for (let r = 0; r < rounds; r++) {
  const a = headless();
  const b = await served();
  const c = headless(serveThreads);
  overhead.push({ headless_ticks_per_s: a, served_ticks_per_s: b, ratio: b / a,
    headless_same_threads_ticks_per_s: c, ratio_same_threads: b / c });
  log(`round ${r + 1}: headless ${a.toFixed(1)} ticks/s, --serve with the page open ${b.toFixed(1)} (${(b / a).toFixed(3)}x); headless on ${serveThreads} threads ${c.toFixed(1)} (${(b / c).toFixed(3)}x)`);
}

// The live loop: critic off, so each answer waits for the click.
const server = await startBrain(['--api-key', KEY, ...quickArgs(fresh('c'))]);
const page = await openPage(server.url);
await page.waitForFunction(() => window.elarinDashboard.latest);
for (let i = 0; i < clicks; i++) {
  const before = await page.evaluate(() => window.elarinDashboard.latencies.length);
  const episode = await page.evaluate(() => window.elarinDashboard.latest.episode);
  await page.click('#rate-plus');
  await page.waitForFunction(([n, e]) => window.elarinDashboard.latencies.length > n &&
    window.elarinDashboard.latest.episode > e, [before, episode]);
}
const latencies = await page.evaluate(() => window.elarinDashboard.latencies);
await page.close();
await server.stop();
await browser.close();
rmSync(tmp, { recursive: true, force: true });

const ratios = overhead.map((o) => o.ratio);
const result = {
  steps,
  rounds: overhead,
  overhead_ratio_median: median(ratios),
  serve_threads: serveThreads,
  overhead_ratio_same_threads_median: median(overhead.map((o) => o.ratio_same_threads)),
  rating_latency_ms_p50: pct(latencies, 50),
  rating_latency_ms_p99: pct(latencies, 99),
  rating_latency_ms_max: Math.max(...latencies),
  ratings: latencies.length,
};
log(`overhead median ${result.overhead_ratio_median.toFixed(3)}x (same threads ${result.overhead_ratio_same_threads_median.toFixed(3)}x); rating click -> applied p50 ${result.rating_latency_ms_p50.toFixed(1)} ms, p99 ${result.rating_latency_ms_p99.toFixed(1)} ms`);
console.log(JSON.stringify(result));

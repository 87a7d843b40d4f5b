// The dashboard in a real headless Chromium (Debian's `chromium`, driven by npm playwright-core,
// which downloads no browser): the page loads without console errors, draws the stimulus, and
// its buttons, text box, fake camera and fake microphone reach the brain (checked through the
// Brain API). Saves a screenshot ($ELARIN_SCREENSHOT, default build/dashboard.png).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { KEY, events, mnistPng, quickBrain } from './brain_process.mjs';
import { root, skip as noElarin } from './serve_process.mjs';

const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
let playwright = null;
try { playwright = await import('playwright-core'); } catch { /* skipped below */ }
const skip = noElarin || (!existsSync(chromium) ? `${chromium} missing (apt install chromium)` : false) ||
  (!playwright ? 'playwright-core missing (scripts/setup.sh --test)' : false);

describe('dashboard in headless Chromium', { skip, timeout: 900000 }, () => {
  let dir;
  let brain;
  let seen;
  let browser;
  let page;
  const consoleErrors = [];
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'elarin-dashboard-'));
    // Every region of configs/full.yaml (the ifg among them), paused, no critic: the person
    // (this test) alone teaches.
    brain = await quickBrain(path.join(dir, 'state'), ['--config', 'configs/full.yaml', '--paused'], { timeoutMs: 300000 });
    seen = events(brain);
    browser = await playwright.chromium.launch({
      executablePath: chromium,
      args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
        '--autoplay-policy=no-user-gesture-required'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    await context.grantPermissions(['camera', 'microphone'], { origin: brain.url });
    page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.addInitScript((key) => localStorage.setItem('elarin-api-key', key), KEY);
    await page.goto(`${brain.url}/`);
    await page.waitForFunction(() => document.getElementById('status').textContent === 'paused');
  });
  after(async () => {
    await browser?.close();
    seen?.close();
    if (brain) assert.equal((await brain.stop()).code, 0);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const state = async () => (await brain.get('/brain/state')).body;
  // Uploads a digit through the page's file input and waits for the page to show the answer.
  async function upload(digit, index = 0) {
    const before = (await state()).counters.episodes;
    await page.setInputFiles('#upload', { name: `${digit}.png`, mimeType: 'image/png', buffer: mnistPng(digit, index) });
    const a = (await seen.next((e) => e.type === 'answer' && e.data.source === 'upload' && e.data.episode > before)).data;
    await page.waitForFunction((n) => document.getElementById('episode').textContent === String(n), a.episode);
    return a;
  }

  test('the page loads, draws the stimulus and the answer', async () => {
    const a = await upload(3);
    await page.waitForFunction((n) => window.elarinDashboard.drawn === n, a.episode);
    const lit = await page.evaluate(() => {
      const c = document.getElementById('stimulus');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let bright = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 128) bright++;
      return bright / (d.length / 4);
    });
    assert.ok(lit > 0.05 && lit < 0.6, `a digit's share of bright pixels: ${lit}`);
    assert.equal(await page.textContent('#answer'), a.answer);
    await page.click('#rate-zero');
  });

  test('Treat raises the treat count and the dopamine of that feedback', async () => {
    await upload(5);
    const s0 = await state();
    await page.click('#rate-plus');
    await seen.next((e) => e.type === 'feedback' && e.data.by === 'person' && !e.data.treat);
    const plain = (await state()).last_feedback;
    await upload(5);
    await page.click('#treat');
    await seen.next((e) => e.type === 'feedback' && e.data.treat);
    const s1 = await state();
    assert.equal(s1.counters.treats, s0.counters.treats + 1);
    assert.equal(s1.last_feedback.treat, true);
    // Dopamine is the reward-prediction error (reward - expected), plus the treat's bonus
    // (region.hypothalamus.treat_bonus 0.5) and the amygdala's favour: the part beyond the
    // error is the bonus larger with the treat.
    const beyond = (f) => f.dopamine - (f.reward - f.expected);
    assert.ok(beyond(s1.last_feedback) - beyond(plain) > 0.4,
      `dopamine beyond the prediction error: with the treat ${beyond(s1.last_feedback)}, without ${beyond(plain)}`);
    await page.waitForFunction((n) => document.getElementById('treats').textContent === String(n), s1.counters.treats);
  });

  test('− inhibits that answer in the ifg', async () => {
    const a = await upload(8, 2);
    assert.ok(!(a.inhibition && a.inhibition[a.answer] > 0), 'not inhibited before');
    await page.click('#rate-minus');
    await seen.next((e) => e.type === 'feedback' && e.data.episode === a.episode);
    const b = await upload(8, 2);  // the same image again
    assert.ok(b.inhibition && b.inhibition[a.answer] > 0.5,
      `"${a.answer}" inhibited after −: ${JSON.stringify(b.inhibition)}`);
    await page.click('#rate-zero');
  });

  test('typed praise is heard as positive valence', async () => {
    await upload(1);
    await page.fill('#words', 'well done, good job!');
    await page.click('#say');
    await page.waitForFunction(() => document.getElementById('heard').textContent.startsWith('heard as'));
    const heard = await page.textContent('#heard');
    assert.match(heard, /heard as praise/);
    const v = Number(heard.match(/valence (-?[\d.]+)/)[1]);
    assert.ok(v > 0.3, `valence ${v}`);
    assert.equal((await state()).last_feedback.reward, 1);
  });

  test('the fake camera and microphone reach the retina and the cochlea', async () => {
    const t0 = (await state()).sense_ticks;
    // Frames wait for a rating each: a person rates them as they come.
    await page.click('#camera');
    const frame = await seen.next((e) => e.type === 'answer' && e.data.source === 'camera', 60000);
    assert.equal(frame.data.port, 'image');
    await page.click('#rate-zero');
    await page.click('#microphone');
    const sound = await seen.next((e) => e.type === 'answer' && e.data.source === 'microphone', 60000);
    assert.equal(sound.data.port, 'audio');
    await page.click('#rate-zero');
    const t1 = (await state()).sense_ticks;
    assert.ok((t1.retina ?? 0) > (t0.retina ?? 0), `retina ticks ${t0.retina} -> ${t1.retina}`);
    assert.ok((t1.cochlea ?? 0) > (t0.cochlea ?? 0), `cochlea ticks ${t0.cochlea} -> ${t1.cochlea}`);
  });

  test('running, the page keeps up; a screenshot is saved and not blank', async () => {
    await page.click('#pause');  // resume: the stream runs, the critic is off: each waits
    await page.click('#critic');
    await page.waitForFunction(() => document.getElementById('status').textContent === 'running');
    await seen.next((e) => e.type === 'metrics', 30000);
    await page.waitForFunction(() => document.querySelectorAll('#log li').length > 5);
    await page.waitForTimeout(1500);
    // Learning events: the − above was kept by the ifg; its row and the event list show it.
    const isKept = (e) => e.type === 'learning' && e.data.region === 'ifg' && e.data.counter === 'punished_kept';
    const kept = seen.all.find(isKept) ?? await seen.next(isKept, 30000);
    assert.ok(kept.data.to > kept.data.from, JSON.stringify(kept.data));
    await page.waitForFunction(() => [...document.querySelectorAll('#learning li')].some((li) => li.textContent.includes('ifg')));
    const bg = (await state()).metrics.regions.find((r) => r.name === 'basal_ganglia');
    assert.ok(bg.learning.go_live_connections + bg.learning.nogo_live_connections > 0,
      `connections woke from their sentinels: ${JSON.stringify(bg.learning)}`);
    const shot = await page.screenshot({ fullPage: true });
    const out = process.env.ELARIN_SCREENSHOT || path.join(root, 'build', 'dashboard.png');
    writeFileSync(out, shot);
    assert.ok(shot.length > 30000, `screenshot of ${shot.length} bytes`);
    assert.deepEqual(consoleErrors, [], 'no console errors');
  });
});

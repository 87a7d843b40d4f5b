// Benchmarks `elarin serve` (docs/BENCHMARKS.md): on one Qwen3-shaped model with the real
// Qwen3 vocabulary and random weights, in one run,
//   - decoding: `elarin sample` in process (batch 1) vs 1 stream through HTTP vs 8 concurrent
//     streams (continuous batching), in generated tokens/s, in paired rounds (medians);
//   - load: N chat requests through the `openai` client, C at a time: failures, p50/p99
//     latency, p50/p99 time to first token;
//   - the server's peak RSS (VmHWM) next to the model's weight bytes.
// Prints one JSON line. Usage:
//   node bench/serve.mjs [--hidden 256] [--layers 4] [--tokens 64] [--requests 2000]
//                        [--concurrency 32] [--parallel 8] [--rounds 7]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { makeTinyQwen3 } from '../tests/tools/make_tiny_qwen3.mjs';
import { elarin, startServe } from '../tests/serve/serve_process.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const num = (k, d) => (args[k] === undefined ? d : Number(args[k]));
const hidden = num('hidden', 256), layers = num('layers', 4), tokens = num('tokens', 64);
const requests = num('requests', 2000), concurrency = num('concurrency', 32), parallel = num('parallel', 8);
const rounds = num('rounds', 7);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'elarin-bench-serve-'));
const dir = makeTinyQwen3(path.join(tmp, 'bench-qwen3'), {
  layers, hidden, heads: hidden / 64, kvHeads: Math.max(1, hidden / 128), headDim: 64,
  intermediate: 3 * hidden, context: 4096,
});
const log = (...m) => console.error('bench serve:', ...m);
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };

// Decoding, in paired rounds: `elarin sample` in process (batch 1), then one request through
// HTTP, then 8 at once, the same prompt and token count. The machine's speed drifts (shared
// memory bandwidth), so each ratio is taken within a round and the median over rounds is
// reported, with every round's figures.
const promptIds = [785, 9396, 374, 6303, 323, 279];  // six ids of the Qwen3 vocabulary
const sampleRun = () => {
  const r = spawnSync(elarin, ['-q', 'sample', '--model', dir, '--ids', promptIds.join(','), '--temperature', '0',
    '--max_new_tokens', String(tokens), '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()).tokens_per_s;
};

const server = await startServe(['--model', dir, '--parallel', String(parallel), '--queue', '256', '--ctx', '1024']);
const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
const complete = () => client.completions.create({ model: 'bench-qwen3', prompt: promptIds, temperature: 0, max_tokens: tokens, ignore_eos: true });
await complete();  // warm-up
const timed = async (n) => {
  const t0 = performance.now();
  const rs = await Promise.all(Array.from({ length: n }, complete));
  const s = (performance.now() - t0) / 1000;
  const generated = rs.reduce((a, r) => a + r.usage.completion_tokens, 0);
  return generated / s;
};
const median = (xs) => pct(xs, 50);
const perRound = [];
for (let r = 0; r < rounds; r++) {
  const sample = sampleRun();
  const one = await timed(1);
  const eight = await timed(8);
  perRound.push({ sample: +sample.toFixed(1), http_1: +one.toFixed(1), http_8: +eight.toFixed(1),
    http_vs_sample: +(one / sample).toFixed(3), batching: +(eight / one).toFixed(2) });
  log(`round ${r + 1}: sample ${sample.toFixed(1)}, HTTP 1 stream ${one.toFixed(1)}, 8 streams ${eight.toFixed(1)} tokens/s`);
}
const sampleTps = median(perRound.map((x) => x.sample));
const one = median(perRound.map((x) => x.http_1));
const eight = median(perRound.map((x) => x.http_8));
const httpVsSample = median(perRound.map((x) => x.http_vs_sample));
const batching = median(perRound.map((x) => x.batching));

// Load: chat requests, `concurrency` in flight, streamed (time to first token).
const questions = ['Hello there', 'What is the sea?', 'Name a colour', 'Why is the sky blue?', 'Count to three'];
const latencies = [], ttfts = [];
let failures = 0, next = 0;
const t0 = performance.now();
const worker = async () => {
  for (;;) {
    const i = next++;
    if (i >= requests) return;
    const start = performance.now();
    try {
      const s = await client.chat.completions.create({ model: 'bench-qwen3', messages: [{ role: 'user', content: questions[i % questions.length] }],
        max_tokens: 16, temperature: 0.7, seed: i, stream: true });
      let first = null;
      for await (const chunk of s) if (first === null && chunk.choices[0]?.delta?.content) first = performance.now();
      latencies.push(performance.now() - start);
      ttfts.push((first ?? performance.now()) - start);
    } catch (e) {
      failures += 1;
      if (failures < 5) log('failure:', e.message);
    }
  }
};
await Promise.all(Array.from({ length: concurrency }, worker));
const loadSeconds = (performance.now() - t0) / 1000;
log(`load: ${requests} requests, ${concurrency} concurrent, ${failures} failures in ${loadSeconds.toFixed(1)} s`);

const models = await client.models.list();
const weightBytes = models.data[0].meta.size;
const status = readFileSync(`/proc/${server.proc.pid}/status`, 'utf8');
const peakRss = Number(status.match(/VmHWM:\s+(\d+) kB/)[1]) * 1024;
await server.stop();
rmSync(tmp, { recursive: true, force: true });

console.log(JSON.stringify({
  bench: 'serve', model: { hidden, layers, vocab: 151669, weight_bytes: weightBytes }, tokens, parallel,
  rounds, sample_tokens_per_s: +sampleTps.toFixed(2), http_1_stream_tokens_per_s: +one.toFixed(2),
  http_8_streams_tokens_per_s: +eight.toFixed(2),
  batching_ratio_8_vs_1: batching, http_vs_sample_ratio: httpVsSample, per_round: perRound,
  load: { requests, concurrency, failures, seconds: +loadSeconds.toFixed(1),
    latency_ms_p50: +pct(latencies, 50).toFixed(1), latency_ms_p99: +pct(latencies, 99).toFixed(1),
    ttft_ms_p50: +pct(ttfts, 50).toFixed(1), ttft_ms_p99: +pct(ttfts, 99).toFixed(1) },
  peak_rss_bytes: peakRss, peak_rss_over_weights: +(peakRss / weightBytes).toFixed(2),
}));

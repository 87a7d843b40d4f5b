#!/usr/bin/env node
// Reference GPT-2 token ids for tests/models/hf/test_tokenizer.cpp, from the JS port of openai's
// encoder.py in the npm package gpt-3-encoder@1.1.4. Leaves out the comparison (the C++ test).
//
//   node tests/tools/gpt2_reference_ids.js data/gpt2-tokenizer FILE... > reference.json
//
// Each file is read as UTF-8 (invalid bytes become U+FFFD, and the C++ side encodes the same
// decoded text) and cut into chunks of whole lines of about 2000 characters: the package's
// encode() grows its result with Array.concat per word, quadratic on a whole book. Chunks keep
// their newlines, so runs of blank lines and leading spaces are exercised as in running text.
// Prints [{"file": ..., "text": chunk, "ids": [...]}, ...].
'use strict';
const fs = require('fs');
const path = require('path');

const [packageDir, ...files] = process.argv.slice(2);
if (!packageDir || files.length === 0) {
  process.stderr.write('usage: gpt2_reference_ids.js PACKAGE_DIR FILE...\n');
  process.exit(2);
}
const encoder = require(path.resolve(packageDir, 'Encoder.js'));

const kChunkChars = 2000;
const out = [];
for (const file of files) {
  const lines = fs.readFileSync(file, 'utf-8').split(/(?<=\n)/);
  let chunk = '';
  const flush = () => {
    if (chunk !== '') out.push({file, text: chunk, ids: encoder.encode(chunk)});
    chunk = '';
  };
  for (const line of lines) {
    chunk += line;
    if (chunk.length >= kChunkChars) flush();
  }
  flush();
}
process.stdout.write(JSON.stringify(out));

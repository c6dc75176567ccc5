// Calls dossier's WebAssembly module (/web/dossier.wasm, the `dossier-wasm` crate): JSON in,
// JSON out, through the module's memory. Used by /web/worker.mjs in the browser and by the
// tests in node, so both run the same few lines.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Instantiates the module from its bytes (an ArrayBuffer or typed array) or a fetch Response.
export async function instantiate(source) {
  const { instance } = source instanceof Response
    ? await WebAssembly.instantiateStreaming(source, {})
    : await WebAssembly.instantiate(source, {});
  return instance.exports;
}

// Calls `dossier_<op>` with `input` (an object, sent as JSON) and an optional binary part (a
// Uint8Array: a proving key), framed as the module reads them: the JSON's length (4 bytes,
// little-endian), the JSON, the binary part. Returns the JSON answer.
export function call(exports, op, input, binary) {
  const fn = exports[`dossier_${op}`];
  if (typeof fn !== "function") throw new Error(`the module has no operation ${op}`);
  const json = encoder.encode(JSON.stringify(input));
  const extra = binary ? binary.length : 0;
  const len = 4 + json.length + extra;
  const ptr = exports.dossier_alloc(len);
  if (ptr === 0) throw new Error("the input is larger than the module takes");
  const frame = new Uint8Array(exports.memory.buffer, ptr, len);
  new DataView(exports.memory.buffer).setUint32(ptr, json.length, true);
  frame.set(json, 4);
  if (binary) frame.set(binary, 4 + json.length);
  const out = fn(ptr, len);
  const answerLength = new DataView(exports.memory.buffer).getUint32(out, true);
  const text = decoder.decode(new Uint8Array(exports.memory.buffer, out + 4, answerLength).slice());
  exports.dossier_free_answer(out);
  return JSON.parse(text);
}

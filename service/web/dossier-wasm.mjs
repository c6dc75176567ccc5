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

// Calls `dossier_<op>` with `input` (an object, sent as JSON) and returns its JSON answer.
export function call(exports, op, input) {
  const fn = exports[`dossier_${op}`];
  if (typeof fn !== "function") throw new Error(`the module has no operation ${op}`);
  const bytes = encoder.encode(JSON.stringify(input));
  const ptr = exports.dossier_alloc(bytes.length);
  new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes);
  const out = fn(ptr, bytes.length);
  const len = new DataView(exports.memory.buffer).getUint32(out, true);
  const text = decoder.decode(new Uint8Array(exports.memory.buffer, out + 4, len));
  exports.dossier_free_answer(out);
  return JSON.parse(text);
}

// Calls dossier's WebAssembly module (/web/dossier.wasm, the `dossier-wasm` crate): JSON in,
// JSON out, through the module's memory. Used by /web/worker.mjs in the browser and by the
// tests in node, so both run the same few lines.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// The module's memory: shared between its threads, made by the page (the module is built with
// WebAssembly's atomics; wasm/build.sh fixes these limits, in 64 KiB pages: 32 MiB to 2 GiB).
const MEMORY = { initial: 512, maximum: 32768, shared: true };

// What a further thread's instance imports: the shared memory, and no power to start threads.
export function threadImports(memory) {
  return { env: { memory, dossier_spawn: () => { throw new Error("only the first thread starts threads"); } } };
}

// Instantiates the module from its bytes (an ArrayBuffer or typed array) or a fetch Response,
// with rayon's pool of `threads` threads (the caller's included). Each further thread is handed
// to `spawn({module, memory, builder, stack, tls})`, which starts it in a Web Worker
// (/web/thread.mjs); with one thread, nothing is spawned.
export async function instantiate(source, { threads = 1, spawn = null } = {}) {
  const module = source instanceof Response
    ? await WebAssembly.compileStreaming(source)
    : await WebAssembly.compile(source);
  const memory = new WebAssembly.Memory(MEMORY);
  const imports = threadImports(memory);
  if (spawn) imports.env.dossier_spawn = (builder, stack, tls) => spawn({ module, memory, builder, stack, tls });
  const instance = await WebAssembly.instantiate(module, imports);
  const exports = { ...instance.exports, memory };
  if (exports.dossier_threads(spawn ? threads : 1, exports.__tls_size.value, exports.__tls_align.value) !== 0) {
    throw new Error("the module's threads could not be started");
  }
  return exports;
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

// dossier's Web Worker: runs the WebAssembly module off the page's thread (a halo2 verifying
// key is derived on first use, and proving takes seconds). Messages: {id, op, input, binary} in,
// {id, result, ms} or {id, error} out. A module that trapped is dropped and loaded afresh.
import { instantiate, call } from "/web/dossier-wasm.mjs";

let module = null;

async function exportsOf() {
  if (!module) module = instantiate(await fetch("/web/dossier.wasm"));
  return module;
}

self.onmessage = async (event) => {
  const { id, op, input, binary } = event.data;
  try {
    const exports = await exportsOf();
    const started = performance.now();
    const result = call(exports, op, input, binary);
    self.postMessage({ id, result, ms: performance.now() - started });
  } catch (error) {
    module = null;
    self.postMessage({ id, error: String(error && error.message || error) });
  }
};

// dossier's Web Worker: runs the WebAssembly module off the page's thread (a halo2 verifying
// key is derived on first use, and proving takes seconds). Messages: {id, op, input, binary} in,
// {id, result, ms, threads} or {id, error} out. A module that trapped is dropped (its threads with it)
// and loaded afresh. On a cross-origin isolated page the module gets one thread a core (at most
// eight), each further one a Web Worker of its own (/web/thread.mjs) sharing its memory.
import { instantiate, call } from "/web/dossier-wasm.mjs";

let module = null;
let threads = [];
let cores = 1;

function spawn(message) {
  const thread = new Worker("/web/thread.mjs", { type: "module" });
  thread.postMessage(message);
  threads.push(thread);
}

async function exportsOf() {
  if (!module) {
    cores = self.crossOriginIsolated ? Math.min(navigator.hardwareConcurrency || 1, 8) : 1;
    module = instantiate(await fetch("/web/dossier.wasm"), { threads: cores, spawn: cores > 1 ? spawn : null });
  }
  return module;
}

self.onmessage = async (event) => {
  const { id, op, input, binary } = event.data;
  try {
    const exports = await exportsOf();
    const started = performance.now();
    const result = call(exports, op, input, binary);
    self.postMessage({ id, result, ms: performance.now() - started, threads: cores });
  } catch (error) {
    module = null;
    for (const thread of threads) thread.terminate();
    threads = [];
    self.postMessage({ id, error: String(error && error.message || error) });
  }
};

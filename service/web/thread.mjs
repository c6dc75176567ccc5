// One further thread of dossier's WebAssembly module: a Web Worker started by the module's own
// worker (/web/worker.mjs) when rayon's pool is built. It instantiates the same module over the
// same shared memory, takes the stack and thread-local block the module allocated for it, and
// runs its share of the pool's work until the page goes away.
import { threadImports } from "/web/dossier-wasm.mjs";

self.onmessage = async ({ data: { module, memory, builder, stack, tls } }) => {
  const instance = await WebAssembly.instantiate(module, threadImports(memory));
  const x = instance.exports;
  x.__stack_pointer.value = stack;
  x.__wasm_init_tls(tls);
  x.dossier_thread_run(builder); // returns only when the pool ends
};

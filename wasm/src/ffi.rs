//! The module's exports: the page writes its input into memory the module allocated
//! (`dossier_alloc`), calls a function with its address and length, and reads the answer from
//! the returned address: four bytes of length (little-endian), then that many bytes of JSON,
//! which it gives back with `dossier_free_answer`. This file is the project's only unsafe
//! code: raw addresses handed across the WebAssembly boundary.
#![allow(unsafe_code)]

/// Memory for `len` bytes of input; the page writes into it and passes it to a call, which
/// takes it back. Null for more than a call may carry (a frame's bounds), before allocating.
#[no_mangle]
pub extern "C" fn dossier_alloc(len: usize) -> *mut u8 {
    if len > 4 + crate::MAX_INPUT + crate::MAX_BINARY {
        return std::ptr::null_mut();
    }
    let mut buf = Vec::<u8>::with_capacity(len);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

/// Takes back the input buffer of `len` bytes at `ptr` (from `dossier_alloc(len)`).
///
/// # Safety
/// `ptr` must come from `dossier_alloc(len)`, with `len` bytes written, and not be used again.
unsafe fn take_input(ptr: *mut u8, len: usize) -> Vec<u8> {
    // SAFETY: the caller guarantees `ptr` was allocated with capacity `len` and is initialised.
    unsafe { Vec::from_raw_parts(ptr, len, len) }
}

/// Puts an answer where the page can read it: its length, then its bytes.
fn answer(value: &serde_json::Value) -> *mut u8 {
    // Answers may hold a wallet document: every copy is wiped when dropped or given back.
    let body = zeroize::Zeroizing::new(value.to_string().into_bytes());
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    // Handed over whole (no copy left behind): the page reads it, then gives it back.
    let mut out = out.into_boxed_slice();
    let ptr = out.as_mut_ptr();
    std::mem::forget(out);
    ptr
}

/// Gives back an answer returned by a call.
///
/// # Safety
/// `ptr` must be an answer a call returned, given back once.
#[no_mangle]
pub unsafe extern "C" fn dossier_free_answer(ptr: *mut u8) {
    // SAFETY: an answer starts with its body's length and was a boxed slice of 4 + that length.
    unsafe {
        let mut len = [0u8; 4];
        std::ptr::copy_nonoverlapping(ptr, len.as_mut_ptr(), 4);
        let total = 4 + u32::from_le_bytes(len) as usize;
        let mut answer = Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, total));
        zeroize::Zeroize::zeroize(&mut answer[..]);
    }
}

/// Runs `op` over the frame at `ptr` (`len` bytes, from `dossier_alloc`), which it takes back.
///
/// # Safety
/// `ptr` must come from `dossier_alloc(len)` with `len` bytes written, and not be used again.
unsafe fn run(op: crate::Operation, ptr: *mut u8, len: usize) -> *mut u8 {
    record_panics();
    // SAFETY: forwarded from the callers' own contract.
    let input = zeroize::Zeroizing::new(unsafe { take_input(ptr, len) });
    answer(&crate::call(op, &input))
}

/// The last panic's message and place (a bug: no input should panic the module), kept for
/// `dossier_panic` since a panic aborts the call (the page sees a trap).
static PANIC: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn record_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if let Ok(mut last) = PANIC.lock() {
                *last = info.to_string();
            }
        }));
    });
}

/// The message of the panic that trapped the last call, if any (`{"panic": text}`).
#[no_mangle]
pub extern "C" fn dossier_panic() -> *mut u8 {
    let text = PANIC.lock().map(|p| p.clone()).unwrap_or_default();
    answer(&serde_json::json!({ "panic": text }))
}

macro_rules! exports {
    ($($name:ident => $op:ident),* $(,)?) => {$(
        #[doc = concat!("[`crate::Operation::", stringify!($op), "`] over a frame from `dossier_alloc`.")]
        ///
        /// # Safety
        /// `ptr` must come from `dossier_alloc(len)` with `len` bytes written; the call takes it.
        #[no_mangle]
        pub unsafe extern "C" fn $name(ptr: *mut u8, len: usize) -> *mut u8 {
            // SAFETY: this function's contract is `run`'s.
            unsafe { run(crate::Operation::$op, ptr, len) }
        }
    )*};
}

exports! {
    dossier_verify => Verify,
    dossier_wallet_create => WalletCreate,
    dossier_wallet_seal => WalletSeal,
    dossier_wallet_open => WalletOpen,
    dossier_wallet_import => WalletImport,
    dossier_prepare => Prepare,
    dossier_prove => Prove,
    dossier_shape => Shape,
    dossier_openid4vp_parse => Openid4vpParse,
    dossier_openid4vp_open => Openid4vpOpen,
    dossier_openid4vp_answer => Openid4vpAnswer,
    dossier_qr_read => QrRead,
}

/// No operating system: rand 0.8's hidden randomness is refused (the module takes every random
/// value it needs from the page, which draws it from WebCrypto).
#[cfg(target_arch = "wasm32")]
fn no_hidden_randomness(_: &mut [u8]) -> Result<(), getrandom02::Error> {
    Err(getrandom02::Error::UNSUPPORTED)
}

#[cfg(target_arch = "wasm32")]
getrandom02::register_custom_getrandom!(no_hidden_randomness);

/// Threads, when the module is built with WebAssembly's atomics (shared memory): the page's
/// worker builds rayon's pool through `dossier_threads`, the calling thread one of its workers,
/// and starts each further thread as a Web Worker of its own (the `dossier_spawn` import) that
/// instantiates the module over the same memory, with the stack and thread-local block
/// allocated here, and runs `dossier_thread_run`. halo2's parallel code and the Groth16
/// prover's assembly (`dossier_prover`) then use every thread the pool has; arkworks itself
/// stays serial in the module.
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
mod threads {
    use std::alloc::Layout;

    /// Each thread's stack (rayon's joins recurse; the main thread's is 1 MiB).
    const STACK: usize = 2 << 20;

    #[link(wasm_import_module = "env")]
    extern "C" {
        /// Starts a thread: a Web Worker that instantiates the module over this memory, sets
        /// its stack pointer to `stack_top`, initialises its thread-local block at `tls` and
        /// calls `dossier_thread_run(builder)`.
        fn dossier_spawn(builder: usize, stack_top: usize, tls: usize);
    }

    /// Builds the pool of `threads` threads (the caller's included), once; the thread-local
    /// block of a thread is `tls_size` bytes aligned to `tls_align` (the module's `__tls_size`
    /// and `__tls_align`). Answers 0 when the pool is built, 1 when it already was or could
    /// not be.
    #[no_mangle]
    pub extern "C" fn dossier_threads(threads: usize, tls_size: usize, tls_align: usize) -> u32 {
        let Ok(tls) = Layout::from_size_align(tls_size.max(1), tls_align.max(1)) else {
            return 1;
        };
        let Ok(stack) = Layout::from_size_align(STACK, 16) else {
            return 1;
        };
        let built = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.clamp(1, 16))
            .use_current_thread()
            .spawn_handler(move |thread| {
                // Never freed: a thread lives as long as the module.
                // SAFETY: both layouts have a non-zero size.
                let (stack_base, tls_block) =
                    unsafe { (std::alloc::alloc(stack), std::alloc::alloc_zeroed(tls)) };
                if stack_base.is_null() || tls_block.is_null() {
                    return Err(std::io::Error::from(std::io::ErrorKind::OutOfMemory));
                }
                let builder = Box::into_raw(Box::new(thread)) as usize;
                // SAFETY: the page's import only posts these addresses to a new worker.
                unsafe { dossier_spawn(builder, stack_base as usize + STACK, tls_block as usize) };
                Ok(())
            })
            // Not `build_global`, which waits until every thread has started: a browser starts
            // a worker's workers only once that worker's own event loop runs again. Building
            // takes over this thread as the pool's first (rayon's `use_current_thread`), so the
            // provers' parallel code runs on this pool; the pool lives as long as the module.
            .build();
        match built {
            Ok(pool) => u32::from(POOL.set(pool).is_err()),
            Err(_) => 1,
        }
    }

    /// The module's pool, once built.
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();

    /// A new thread's life: runs its share of the pool until the module goes away.
    ///
    /// # Safety
    /// `builder` must be an address `dossier_spawn` was given, used once.
    #[no_mangle]
    pub unsafe extern "C" fn dossier_thread_run(builder: usize) {
        // SAFETY: the caller passes the boxed `ThreadBuilder` the spawn handler made, once.
        let thread = unsafe { Box::from_raw(builder as *mut rayon::ThreadBuilder) };
        thread.run();
    }
}

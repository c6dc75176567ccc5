#!/usr/bin/env bash
# Builds dossier's WebAssembly module (the `dossier-wasm` crate) into service/web/dossier.wasm.
#
#   wasm/build.sh            build and install the module
#   wasm/build.sh --check    build, and fail if the result differs from the committed module
#
# rustup cannot add the wasm32 target on machines without internet, so this uses Debian's Rust
# toolchain for the web (rustc-web, cargo-web, rust-web-src: the same 1.96 as its std source)
# with cargo's -Zbuild-std. The packages are fetched with `apt-get download` (no root needed once
# apt's lists know bookworm-security) and unpacked into a private prefix, so the system and
# rustup's toolchains are untouched. See docs/wasm.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mode="${1:-build}"
version="1.96.0+dfsg1-1~deb12u2"
prefix="${DOSSIER_WASM_TOOLCHAIN:-$root/target/wasm-toolchain}"
out="service/web/dossier.wasm"

toolchain() {
  [ -x "$prefix/usr/bin/rustc" ] && return 0
  echo "wasm: fetching Debian's rustc-web $version into $prefix" >&2
  local debs="$prefix.debs"
  mkdir -p "$debs" "$prefix"
  local pkgs=(rustc-web="$version" cargo-web="$version" libstd-rust-web-1.96="$version"
    libstd-rust-web-dev="$version" rust-web-llvm="$version" rust-web-src="$version"
    libllvm22 lld-22 libgit2-1.5 libhttp-parser2.9 libmbedcrypto7 libmbedtls14 libmbedx509-1)
  if ! (cd "$debs" && apt-get download "${pkgs[@]}" >/dev/null 2>&1); then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null; fi
    (cd "$debs" && apt-get download "${pkgs[@]}" >/dev/null) || {
      echo "wasm: cannot fetch Debian's rustc-web $version (is bookworm-security in apt's sources?)" >&2
      exit 3
    }
  fi
  for f in "$debs"/*.deb; do dpkg-deb -x "$f" "$prefix"; done
  rm -rf "$debs"
}

toolchain
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export RUSTC_BOOTSTRAP=1 RUSTC="$prefix/usr/bin/rustc"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$prefix/usr/bin/rust-lld"
# Reproducible: no build path or home directory in the module; rand 0.10's getrandom has no
# backend in a browser and none is needed (randomness comes from the page).
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
# Threads: WebAssembly's atomics and a shared memory the page creates (32 MiB to start, at most
# 2 GiB), with what a new thread's instance needs exported: its stack pointer and the
# thread-local block's size, alignment and initialiser (ffi.rs's `threads`, worker.mjs).
threads="-C target-feature=+atomics,+bulk-memory,+mutable-globals"
for arg in --shared-memory --import-memory --initial-memory=33554432 --max-memory=2147483648 \
  --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__stack_pointer; do
  threads="$threads -C link-arg=$arg"
done
export RUSTFLAGS="--cfg getrandom_backend=\"unsupported\" $threads --remap-path-prefix=$root=/dossier --remap-path-prefix=$registry=/registry --remap-path-prefix=$prefix=/toolchain"
unset CARGO_BUILD_RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
"$prefix/usr/bin/cargo" build --quiet --locked -p dossier-wasm --profile wasm \
  --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort \
  --target-dir "$root/target/wasm"
built="target/wasm/wasm32-unknown-unknown/wasm/dossier_wasm.wasm"
case "$mode" in
  --check)
    if cmp -s "$built" "$out"; then
      echo "wasm: $out is what the sources build ($(stat -c %s "$out") bytes)"
    else
      echo "wasm: $out differs from what the sources build: run wasm/build.sh and commit it" >&2
      exit 1
    fi
    ;;
  *)
    cp "$built" "$out"
    echo "wasm: $out ($(stat -c %s "$out") bytes, sha256 $(sha256sum "$out" | cut -c1-16)…)"
    ;;
esac

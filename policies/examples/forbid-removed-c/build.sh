#!/usr/bin/env bash
# Builds forbid_removed.wasm with Zig's C compiler (pip install ziglang) or clang, to OUT (default .).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/forbid_removed.wasm}"
flags=(-O2 -g0 -nostdlib -Wl,--strip-debug -Wl,--no-entry -Wl,--export-memory
       -Wl,--export=pol_abi_version -Wl,--export=pol_alloc -Wl,--export=pol_free -Wl,--export=pol_evaluate)
if python3 -m ziglang version >/dev/null 2>&1; then
    python3 -m ziglang cc -target wasm32-freestanding "${flags[@]}" -o "$out" "$here/policy.c"
elif command -v clang >/dev/null; then
    clang --target=wasm32 "${flags[@]}" -o "$out" "$here/policy.c"
else
    echo "needs a C compiler for wasm32: pip install ziglang, or clang with lld" >&2
    exit 1
fi

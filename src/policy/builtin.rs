//! The built-in policy modules, built from `policies/` by the build script and carried in the
//! binary both as WebAssembly and compiled for this machine, so no run compiles them.

use super::host::Precompiled;

/// A built-in module: its name in policy configuration, its bytes and its compiled code.
pub struct Builtin {
    pub name: &'static str,
    pub hook: &'static str,
    pub bytes: &'static [u8],
    pub precompiled: Precompiled,
}

/// The engine compatibility the built-ins were compiled for.
const COMPATIBILITY: u64 = {
    let text = include_str!(concat!(env!("OUT_DIR"), "/builtins.compatibility")).as_bytes();
    let mut value = 0u64;
    let mut i = 0;
    while i < text.len() {
        value = value * 10 + (text[i] - b'0') as u64;
        i += 1;
    }
    value
};

pub const STORAGE: Builtin = Builtin {
    name: "builtin-storage",
    hook: "storage",
    bytes: include_bytes!(concat!(env!("OUT_DIR"), "/builtin_storage.wasm")),
    precompiled: Precompiled {
        code: include_bytes!(concat!(env!("OUT_DIR"), "/builtin_storage.cwasm")),
        compatibility: COMPATIBILITY,
    },
};

pub const PRUNER: Builtin = Builtin {
    name: "builtin-pruner",
    hook: "pruner",
    bytes: include_bytes!(concat!(env!("OUT_DIR"), "/builtin_pruner.wasm")),
    precompiled: Precompiled {
        code: include_bytes!(concat!(env!("OUT_DIR"), "/builtin_pruner.cwasm")),
        compatibility: COMPATIBILITY,
    },
};

pub const ALL: &[Builtin] = &[STORAGE, PRUNER];

pub fn find(name: &str) -> Option<&'static Builtin> {
    ALL.iter().find(|b| b.name == name)
}

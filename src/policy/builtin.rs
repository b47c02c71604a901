//! The built-in policy modules, built from `policies/` by the build script and carried in the binary.

/// A built-in module: its name in policy configuration and its bytes.
pub struct Builtin {
    pub name: &'static str,
    pub hook: &'static str,
    pub bytes: &'static [u8],
}

pub const STORAGE: Builtin = Builtin {
    name: "builtin-storage",
    hook: "storage",
    bytes: include_bytes!(concat!(env!("OUT_DIR"), "/builtin_storage.wasm")),
};

pub const PRUNER: Builtin = Builtin {
    name: "builtin-pruner",
    hook: "pruner",
    bytes: include_bytes!(concat!(env!("OUT_DIR"), "/builtin_pruner.wasm")),
};

pub const ALL: &[Builtin] = &[STORAGE, PRUNER];

pub fn find(name: &str) -> Option<&'static Builtin> {
    ALL.iter().find(|b| b.name == name)
}

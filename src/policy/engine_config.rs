// The engine configuration every policy runs under. The build script includes this file to
// precompile the built-in modules with exactly this configuration, so it uses nothing but wasmtime.

/// Decisions that may run at the same time (each holds one pooled instance while it runs).
const POOLED_INSTANCES: u32 = 16;
/// Bytes of each pooled memory kept resident and zeroed in place between instances; the rest is
/// returned to the kernel. 64 KiB measured fastest for the built-in policies (1 MiB: memset cost).
const KEEP_RESIDENT: usize = 64 << 10;

/// The engine's configuration for modules limited to `memory_bytes`, `table_elements` and a
/// `stack_bytes` stack.
pub fn engine_config(memory_bytes: usize, table_elements: usize, stack_bytes: usize) -> wasmtime::Config {
    // Instances come from a small pool whose memories stay mapped (and partly resident) between
    // decisions: a fresh instance per decision then costs microseconds, not a mmap/munmap.
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_core_instances(POOLED_INSTANCES)
        .total_memories(POOLED_INSTANCES)
        .total_tables(POOLED_INSTANCES * 2)
        .max_memories_per_module(1)
        .max_tables_per_module(2)
        .max_memory_size(memory_bytes)
        .table_elements(table_elements)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT);
    let mut config = wasmtime::Config::new();
    config
        .allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool))
        .consume_fuel(true)
        .max_wasm_stack(stack_bytes)
        .parallel_compilation(true)
        .cranelift_opt_level(wasmtime::OptLevel::Speed)
        // Bit-identical results on every architecture.
        .cranelift_nan_canonicalization(true);
    config
}

/// The engine's compatibility with precompiled code, as a number both builds agree on.
pub fn compatibility(engine: &wasmtime::Engine) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

//! The bounds every policy decision runs under. They are deterministic (fuel, not wall time), so a
//! module fails the same way on every machine.

/// Per-decision limits. Configuration may lower them, never raise them above [`Limits::CEILING`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// WebAssembly instructions (roughly) a decision may execute.
    pub fuel: u64,
    pub memory_bytes: usize,
    pub stack_bytes: usize,
    pub table_elements: usize,
    pub input_bytes: usize,
    pub output_bytes: usize,
    pub module_bytes: usize,
    /// CPU time compiling one module may take (all compiler threads together).
    pub compile_cpu_seconds: u64,
    /// Memory compiling one module may use.
    pub compile_memory_bytes: usize,
}

impl Limits {
    /// The defaults, which are also the ceiling.
    pub const CEILING: Limits = Limits {
        fuel: 200_000_000,
        memory_bytes: 64 << 20,
        stack_bytes: 512 << 10,
        table_elements: 10_000,
        input_bytes: 4 << 20,
        output_bytes: 1 << 20,
        module_bytes: 8 << 20,
        compile_cpu_seconds: 20,
        compile_memory_bytes: 1 << 30,
    };

    /// These limits lowered by `other`'s, field by field, and never above the ceiling.
    pub fn lowered_by(&self, other: &Limits) -> Limits {
        Limits {
            fuel: self.fuel.min(other.fuel),
            memory_bytes: self.memory_bytes.min(other.memory_bytes),
            stack_bytes: self.stack_bytes.min(other.stack_bytes),
            table_elements: self.table_elements.min(other.table_elements),
            input_bytes: self.input_bytes.min(other.input_bytes),
            output_bytes: self.output_bytes.min(other.output_bytes),
            module_bytes: self.module_bytes.min(other.module_bytes),
            compile_cpu_seconds: self.compile_cpu_seconds.min(other.compile_cpu_seconds),
            compile_memory_bytes: self.compile_memory_bytes.min(other.compile_memory_bytes),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::CEILING
    }
}

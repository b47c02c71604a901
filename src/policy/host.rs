//! The policy host: one wasmtime engine, a module compiled once, and a fresh store and instance for
//! every decision, under fuel, memory, stack and table limits, with no imports at all. Every value
//! the guest hands back (pointers, lengths, JSON) is treated as hostile.

use super::error::{Cause, PolicyError};
use super::limits::Limits;
use super::module::{Inspection, inspect};
use oc_registry_policy_sdk::{ABI_VERSION, Request, Response};
use serde_json::Value;
use wasmtime::{
    Engine, Instance, InstancePre, Linker, Memory, Module, ModuleExport, Store, StoreLimits, StoreLimitsBuilder, Trap,
    TypedFunc,
};

include!("engine_config.rs");

/// A module compiled when this program was built, and the engine compatibility it was built for.
pub struct Precompiled {
    pub code: &'static [u8],
    pub compatibility: u64,
}

/// A module admitted, compiled, checked against the ABI, and ready to instantiate.
pub struct LoadedModule {
    pub inspection: Inspection,
    /// Whether the code is the one compiled when this program was built (a built-in), not here.
    pub compiled_at_build: bool,
    pre: InstancePre<StoreLimits>,
    exports: Exports,
}

/// The ABI's exports, resolved once so a decision looks nothing up by name.
struct Exports {
    memory: ModuleExport,
    alloc: ModuleExport,
    evaluate: ModuleExport,
}

/// One instance's view of the exports.
struct Bound {
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    evaluate: TypedFunc<(i32, i32), i64>,
}

impl LoadedModule {
    pub fn name(&self) -> &str {
        &self.inspection.metadata.name
    }

    pub fn serves(&self, hook: &str) -> bool {
        self.inspection.metadata.hooks.iter().any(|h| h == hook)
    }
}

/// One decision's answer and what it cost.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub response: Response,
    pub fuel_used: u64,
}

#[derive(Clone)]
pub struct Host {
    engine: Engine,
    limits: Limits,
}

impl Host {
    pub fn new(limits: Limits) -> anyhow::Result<Self> {
        let config = engine_config(limits.memory_bytes, limits.table_elements, limits.stack_bytes);
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("starting the policy engine: {e}"))?;
        Ok(Host { engine, limits })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Admits, compiles and prepares a module.
    pub fn load(&self, label: &str, bytes: &[u8]) -> Result<LoadedModule, PolicyError> {
        let inspection = inspect(label, bytes, &self.limits)?;
        self.prepare(inspection, bytes, None)
    }

    /// Prepares an admitted module for instantiation: compiled here, or, for a built-in, the code
    /// compiled when this program was built, used only when this engine's configuration is the
    /// one it was compiled for.
    pub fn prepare(
        &self,
        inspection: Inspection,
        bytes: &[u8],
        precompiled: Option<&Precompiled>,
    ) -> Result<LoadedModule, PolicyError> {
        let name = inspection.metadata.name.clone();
        let fail = |cause| PolicyError::loading(&name, cause);
        let ready = precompiled
            .filter(|p| p.compatibility == compatibility(&self.engine))
            // SAFETY: the code is part of this executable, produced at build time by
            // `Engine::precompile_module` for this same configuration (the compatibility hashes
            // agree), and wasmtime checks its header against the engine once more.
            .and_then(|p| unsafe { Module::deserialize(&self.engine, p.code) }.ok());
        let compiled_at_build = ready.is_some();
        let module = match ready {
            Some(module) => module,
            None => super::compile::compile(&self.engine, &self.limits, bytes).map_err(fail)?,
        };
        let linker: Linker<StoreLimits> = Linker::new(&self.engine);
        let pre = linker.instantiate_pre(&module).map_err(|e| fail(self.classify(&e)))?;
        let export = |name: &str| {
            module
                .get_export_index(name)
                .ok_or_else(|| fail(Cause::MissingExport(name.into())))
        };
        let exports = Exports {
            memory: export("memory")?,
            alloc: export("pol_alloc")?,
            evaluate: export("pol_evaluate")?,
        };
        let loaded = LoadedModule {
            inspection,
            compiled_at_build,
            pre,
            exports,
        };
        // One instance up front checks the export types and the ABI version, so decisions need not.
        let mut store = self.store();
        let classify = |e: wasmtime::Error| fail(self.classify(&e));
        let instance = loaded.pre.instantiate(&mut store).map_err(classify)?;
        bind(&mut store, &instance, &loaded.exports).map_err(fail)?;
        let typed = |what: &str, e: wasmtime::Error| fail(Cause::WrongExportType(format!("{what}: {e}")));
        instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "pol_free")
            .map_err(|e| typed("pol_free must be (i32, i32) -> ()", e))?;
        let version = instance
            .get_typed_func::<(), i32>(&mut store, "pol_abi_version")
            .map_err(|e| typed("pol_abi_version must be () -> i32", e))?
            .call(&mut store, ())
            .map_err(classify)?;
        if version != ABI_VERSION {
            return Err(fail(Cause::AbiVersion {
                found: version.into(),
                supported: ABI_VERSION,
            }));
        }
        Ok(loaded)
    }

    fn store(&self) -> Store<StoreLimits> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.memory_bytes)
            .table_elements(self.limits.table_elements)
            .instances(1)
            .memories(1)
            .tables(2)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(&self.engine, limits);
        store.limiter(|l| l);
        store.set_fuel(self.limits.fuel).expect("fuel is enabled");
        store
    }

    /// Runs one decision in a fresh instance.
    pub fn evaluate(&self, module: &LoadedModule, hook: &str, input: &Value) -> Result<Evaluation, PolicyError> {
        let fail = |cause| PolicyError {
            module: module.name().to_string(),
            hook: hook.to_string(),
            cause,
        };
        if !module.serves(hook) {
            return Err(fail(Cause::HookNotServed));
        }
        let request = serde_json::to_vec(&Request {
            hook: hook.to_string(),
            input: input.clone(),
        })
        .map_err(|e| fail(Cause::BadOutput(e.to_string())))?;
        if request.len() > self.limits.input_bytes {
            return Err(fail(Cause::InputTooLarge {
                size: request.len(),
                limit: self.limits.input_bytes,
            }));
        }
        let mut store = self.store();
        let classify = |e: wasmtime::Error| fail(self.classify(&e));
        let instance = module.pre.instantiate(&mut store).map_err(classify)?;
        let Bound {
            memory,
            alloc,
            evaluate,
        } = bind(&mut store, &instance, &module.exports).map_err(fail)?;
        let len = i32::try_from(request.len()).expect("input is capped far below i32::MAX");
        let in_ptr = alloc.call(&mut store, len).map_err(classify)?;
        if in_ptr == 0 {
            return Err(fail(Cause::BadPointer(format!("pol_alloc({len}) returned 0"))));
        }
        memory
            .write(&mut store, in_ptr as u32 as usize, &request)
            .map_err(|_| {
                fail(Cause::BadPointer(format!(
                    "pol_alloc returned {in_ptr:#x}, outside memory"
                )))
            })?;
        let packed = evaluate.call(&mut store, (in_ptr, len)).map_err(classify)?;
        let (out_ptr, out_len) = ((packed as u64 >> 32) as u32, packed as u64 as u32);
        if out_len as usize > self.limits.output_bytes {
            return Err(fail(Cause::OutputTooLarge {
                size: out_len.into(),
                limit: self.limits.output_bytes,
            }));
        }
        let mut output = vec![0u8; out_len as usize];
        memory.read(&store, out_ptr as usize, &mut output).map_err(|_| {
            fail(Cause::BadPointer(format!(
                "output at {out_ptr:#x} (+{out_len} bytes) lies outside memory"
            )))
        })?;
        // No pol_free: the instance and all its memory are discarded with the store.
        let fuel_used = self.limits.fuel - store.get_fuel().unwrap_or(0);
        let text = std::str::from_utf8(&output).map_err(|e| fail(Cause::BadOutput(format!("not UTF-8: {e}"))))?;
        let response: Response = serde_json::from_str(text).map_err(|e| fail(Cause::BadOutput(e.to_string())))?;
        Ok(Evaluation { response, fuel_used })
    }

    fn classify(&self, err: &wasmtime::Error) -> Cause {
        classify(err, &self.limits)
    }
}

/// The instance's memory and entry points, type-checked.
fn bind(store: &mut Store<StoreLimits>, instance: &Instance, exports: &Exports) -> Result<Bound, Cause> {
    let memory = instance
        .get_module_export(&mut *store, &exports.memory)
        .and_then(|e| e.into_memory())
        .ok_or_else(|| Cause::WrongExportType("memory must be a memory".into()))?;
    let func = |store: &mut Store<StoreLimits>, export: &ModuleExport, name: &str| {
        instance
            .get_module_export(&mut *store, export)
            .and_then(|e| e.into_func())
            .ok_or_else(|| Cause::WrongExportType(format!("{name} must be a function")))
    };
    let alloc = func(store, &exports.alloc, "pol_alloc")?
        .typed::<i32, i32>(&*store)
        .map_err(|e| Cause::WrongExportType(format!("pol_alloc must be (i32) -> i32: {e}")))?;
    let evaluate = func(store, &exports.evaluate, "pol_evaluate")?
        .typed::<(i32, i32), i64>(&*store)
        .map_err(|e| Cause::WrongExportType(format!("pol_evaluate must be (i32, i32) -> i64: {e}")))?;
    Ok(Bound {
        memory,
        alloc,
        evaluate,
    })
}

fn classify(err: &wasmtime::Error, limits: &Limits) -> Cause {
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => Cause::OutOfFuel { budget: limits.fuel },
            Trap::StackOverflow => Cause::StackOverflow,
            other => Cause::Trap(other.to_string().trim_start_matches("wasm trap: ").to_string()),
        };
    }
    let text = format!("{err:#}");
    let over = |what: &str| {
        text.contains(what)
            && ["exceed", "limit", "growing", "does not fit"]
                .iter()
                .any(|w| text.contains(w))
    };
    if over("memory") {
        Cause::MemoryLimit {
            limit: limits.memory_bytes,
        }
    } else if over("table") {
        Cause::TableLimit {
            limit: limits.table_elements,
        }
    } else {
        Cause::Trap(text)
    }
}

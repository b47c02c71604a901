//! Admission of a module before any compilation: size, digest, imports, exports and metadata are
//! read with wasmparser, so a hostile module is refused before it costs compile time.

use super::error::{Cause, PolicyError};
use super::limits::Limits;
use oc_registry_policy_sdk::{ABI_VERSION, HOOKS, METADATA_SECTION, Metadata};
use sha2::{Digest, Sha256};
use wasmtime::wasmparser::{ExternalKind, FunctionBody, Operator, Parser, Payload, TypeRef};

/// The exports ABI v1 requires.
pub const REQUIRED_FUNCTIONS: &[&str] = &["pol_abi_version", "pol_alloc", "pol_free", "pol_evaluate"];

/// What a module is, read without compiling it.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspection {
    pub metadata: Metadata,
    pub sha256: String,
    pub size: usize,
    pub exports: Vec<String>,
    /// Initial pages (64 KiB each) of the declared memory.
    pub memory_initial_pages: u64,
    pub memory_maximum_pages: Option<u64>,
    /// Initial element counts of the declared tables.
    pub table_initial_elements: Vec<u64>,
    pub code: CodeShape,
}

/// The shape of a module's code, which bounds what compiling it costs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeShape {
    pub functions: u64,
    /// The largest function body, in bytes.
    pub largest_body: u64,
    /// The most locals one function declares.
    pub most_locals: u64,
    /// The deepest nesting of blocks, loops and ifs in one function.
    pub deepest_nesting: u64,
    /// The most locals times blocks, loops and ifs in one function: what register allocation
    /// grows with.
    pub largest_locals_by_blocks: u64,
    /// All function bodies, in bytes.
    pub code_bytes: u64,
    /// Locals times blocks summed over the functions.
    pub total_locals_by_blocks: u64,
}

/// The shape a module's code may have: anything beyond is refused before compiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeLimits {
    pub functions: u64,
    pub body_bytes: u64,
    pub locals: u64,
    pub nesting: u64,
    pub locals_by_blocks: u64,
}

impl CodeLimits {
    /// Far beyond what policies are (the built-ins: 317 functions, 20 KiB and 35 locals in the
    /// largest function, nesting 44, locals × blocks 12,880), and far short of the shapes that
    /// make a compiler work for minutes. What passes is still compiled under a CPU and memory limit.
    pub const DEFAULT: CodeLimits = CodeLimits {
        functions: 50_000,
        body_bytes: 1 << 20,
        locals: 4_000,
        nesting: 1_000,
        locals_by_blocks: 4_000_000,
    };

    /// The first limit `shape` exceeds: its name, the shape's value and the limit.
    pub fn exceeded(&self, shape: &CodeShape) -> Option<(&'static str, u64, u64)> {
        [
            ("functions", shape.functions, self.functions),
            ("bytes in one function", shape.largest_body, self.body_bytes),
            ("locals in one function", shape.most_locals, self.locals),
            ("nested blocks in one function", shape.deepest_nesting, self.nesting),
            (
                "locals × blocks in one function",
                shape.largest_locals_by_blocks,
                self.locals_by_blocks,
            ),
        ]
        .into_iter()
        .find(|(_, value, limit)| value > limit)
    }
}

/// Reads one function body's shape, stopping as soon as a limit is passed.
fn measure(body: &FunctionBody<'_>, limits: &CodeLimits, shape: &mut CodeShape) -> Result<(), String> {
    let size = body.range().len() as u64;
    shape.largest_body = shape.largest_body.max(size);
    shape.code_bytes += size;
    if size > limits.body_bytes {
        return Ok(());
    }
    let mut locals = 0u64;
    for entry in body.get_locals_reader().map_err(|e| e.to_string())? {
        let (count, _) = entry.map_err(|e| e.to_string())?;
        locals = locals.saturating_add(count.into());
    }
    shape.most_locals = shape.most_locals.max(locals);
    if locals > limits.locals {
        return Ok(());
    }
    let (mut depth, mut deepest, mut blocks) = (0u64, 0u64, 0u64);
    let mut reader = body.get_operators_reader().map_err(|e| e.to_string())?;
    while !reader.eof() {
        match reader.read().map_err(|e| e.to_string())? {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } | Operator::TryTable { .. } => {
                depth += 1;
                blocks += 1;
                deepest = deepest.max(depth);
                if deepest > limits.nesting {
                    break;
                }
            }
            Operator::End => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    shape.deepest_nesting = shape.deepest_nesting.max(deepest);
    let weight = locals.saturating_mul(blocks.max(1));
    shape.largest_locals_by_blocks = shape.largest_locals_by_blocks.max(weight);
    shape.total_locals_by_blocks = shape.total_locals_by_blocks.saturating_add(weight);
    Ok(())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a module against ABI v1 and the limits; `label` names it in errors until its metadata
/// name is known.
pub fn inspect(label: &str, bytes: &[u8], limits: &Limits) -> Result<Inspection, PolicyError> {
    let fail = |cause| PolicyError::loading(label, cause);
    if bytes.len() > limits.module_bytes {
        return Err(fail(Cause::TooLarge {
            size: bytes.len(),
            limit: limits.module_bytes,
        }));
    }
    let mut imports = Vec::new();
    let mut exports: Vec<(String, ExternalKind)> = Vec::new();
    let mut metadata: Option<&[u8]> = None;
    let mut memory = (0u64, None);
    let mut tables = Vec::new();
    let mut code = CodeShape::default();
    let code_limits = CodeLimits::DEFAULT;
    let too_complex = |code: &CodeShape| {
        code_limits
            .exceeded(code)
            .map(|(what, value, limit)| PolicyError::loading(label, Cause::TooComplex { what, value, limit }))
    };
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| fail(Cause::Invalid(e.to_string())))?;
        match payload {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| fail(Cause::Invalid(e.to_string())))?;
                    let kind = match import.ty {
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => "function",
                        TypeRef::Memory(_) => "memory",
                        TypeRef::Table(_) => "table",
                        TypeRef::Global(_) => "global",
                        TypeRef::Tag(_) => "tag",
                    };
                    imports.push(format!("{kind} {}.{}", import.module, import.name));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| fail(Cause::Invalid(e.to_string())))?;
                    exports.push((export.name.to_string(), export.kind));
                }
            }
            Payload::MemorySection(reader) => {
                for m in reader {
                    let m = m.map_err(|e| fail(Cause::Invalid(e.to_string())))?;
                    memory = (m.initial, m.maximum);
                }
            }
            Payload::TableSection(reader) => {
                for t in reader {
                    let t = t.map_err(|e| fail(Cause::Invalid(e.to_string())))?;
                    tables.push(t.ty.initial);
                }
            }
            Payload::CustomSection(section) if section.name() == METADATA_SECTION => {
                metadata = Some(section.data());
            }
            Payload::FunctionSection(reader) => {
                code.functions = reader.count().into();
                if let Some(e) = too_complex(&code) {
                    return Err(e);
                }
            }
            Payload::CodeSectionEntry(body) => {
                measure(&body, &code_limits, &mut code).map_err(|e| fail(Cause::Invalid(e)))?;
                if let Some(e) = too_complex(&code) {
                    return Err(e);
                }
            }
            _ => {}
        }
    }
    if !imports.is_empty() {
        return Err(fail(Cause::Imports(imports)));
    }
    // Declared sizes beyond the limits are refused now rather than at instantiation.
    if memory.0.saturating_mul(65536) > limits.memory_bytes as u64 {
        return Err(fail(Cause::MemoryLimit {
            limit: limits.memory_bytes,
        }));
    }
    if tables.iter().any(|t| *t > limits.table_elements as u64) {
        return Err(fail(Cause::TableLimit {
            limit: limits.table_elements,
        }));
    }
    let has = |name: &str, kind: ExternalKind| exports.iter().any(|(n, k)| n == name && *k == kind);
    if !has("memory", ExternalKind::Memory) {
        return Err(fail(Cause::MissingExport("memory".into())));
    }
    for f in REQUIRED_FUNCTIONS {
        if !has(f, ExternalKind::Func) {
            return Err(fail(Cause::MissingExport(format!("function {f}"))));
        }
    }
    let raw = metadata.ok_or_else(|| fail(Cause::Metadata(format!("no {METADATA_SECTION} custom section"))))?;
    let metadata: Metadata = serde_json::from_slice(raw).map_err(|e| fail(Cause::Metadata(e.to_string())))?;
    if metadata.abi != ABI_VERSION {
        return Err(fail(Cause::AbiVersion {
            found: metadata.abi.into(),
            supported: ABI_VERSION,
        }));
    }
    if metadata.name.is_empty() {
        return Err(fail(Cause::Metadata("name is empty".into())));
    }
    if let Some(unknown) = metadata.hooks.iter().find(|h| !HOOKS.contains(&h.as_str())) {
        return Err(fail(Cause::Metadata(format!(
            "unknown hook {unknown:?}; hooks are {}",
            HOOKS.join(", ")
        ))));
    }
    if metadata.hooks.is_empty() {
        return Err(fail(Cause::Metadata("declares no hooks".into())));
    }
    Ok(Inspection {
        metadata,
        sha256: sha256_hex(bytes),
        size: bytes.len(),
        exports: exports.into_iter().map(|(n, _)| n).collect(),
        memory_initial_pages: memory.0,
        memory_maximum_pages: memory.1,
        table_initial_elements: tables,
        code,
    })
}

//! Compiling a module that is not built in, within bounds: in a child process of this executable
//! under a CPU-time and a memory limit and a deadline, so that no module, however shaped, can make
//! a run compile for long or grow large. The child hands back the compiled code, which is loaded
//! like code this engine compiled itself.

use super::error::Cause;
use super::limits::Limits;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use wasmtime::{Engine, Module};

/// The hidden command the child runs: `oc-registry __compile-policy MEMORY TABLES STACK`.
pub const COMPILE_COMMAND: &str = "__compile-policy";
/// The most compiled code a child may hand back.
const MOST_CODE: u64 = 256 << 20;

static COMPILER: OnceLock<PathBuf> = OnceLock::new();

/// Compile modules in child processes of `executable` (this program), bounded. Without it (the
/// library used on its own) they are compiled in process.
pub fn compile_out_of_process(executable: PathBuf) {
    let _ = COMPILER.set(executable);
}

/// Compiles `bytes` for `engine`, bounded by `limits` when a compiler executable is set.
pub fn compile(engine: &Engine, limits: &Limits, bytes: &[u8]) -> Result<Module, Cause> {
    let Some(executable) = COMPILER.get() else {
        return Module::from_binary(engine, bytes).map_err(|e| Cause::Invalid(format!("{e:#}")));
    };
    let code = compile_in_child(executable, limits, bytes)?;
    // SAFETY: the code was produced by `Engine::precompile_module` in a child of this very
    // executable, for an engine configured from the same limits; wasmtime checks its header and
    // the engine compatibility once more before accepting it.
    unsafe { Module::deserialize(engine, &code) }
        .map_err(|e| Cause::Invalid(format!("the compiled module could not be loaded: {e:#}")))
}

fn compile_in_child(executable: &PathBuf, limits: &Limits, bytes: &[u8]) -> Result<Vec<u8>, Cause> {
    let failed = |what: String| Cause::Invalid(format!("compiling in a separate process: {what}"));
    let mut command = Command::new(executable);
    command
        .arg(COMPILE_COMMAND)
        .args([limits.memory_bytes, limits.table_elements, limits.stack_bytes].map(|n| n.to_string()))
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    bound(&mut command, limits);
    let mut child = command.spawn().map_err(|e| failed(format!("starting it: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped");
    let input = bytes.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut code = Vec::new();
        (&mut stdout).take(MOST_CODE + 1).read_to_end(&mut code).map(|_| code)
    });
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = (&mut stderr).take(64 << 10).read_to_string(&mut text);
        text
    });
    // The CPU limit ends a busy child; the deadline, far beyond it so that a loaded machine does
    // not trip it, ends one that waits instead.
    let allowed = Duration::from_secs(60 + limits.compile_cpu_seconds * 3);
    let deadline = Instant::now() + allowed;
    let status = loop {
        match child.try_wait().map_err(|e| failed(e.to_string()))? {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let _ = feeder.join();
    let code = reader.join().ok().and_then(Result::ok).unwrap_or_default();
    let errors = errors.join().unwrap_or_default();
    let Some(status) = status else {
        return Err(Cause::CompileLimit {
            what: "time",
            limit: format!("{} s", allowed.as_secs()),
        });
    };
    if status.success() && code.len() as u64 <= MOST_CODE {
        return Ok(code);
    }
    if code.len() as u64 > MOST_CODE {
        return Err(Cause::CompileLimit {
            what: "compiled size",
            limit: format!("{} MiB", MOST_CODE >> 20),
        });
    }
    Err(classify(status, errors.trim(), limits))
}

#[cfg(unix)]
fn classify(status: std::process::ExitStatus, errors: &str, limits: &Limits) -> Cause {
    use std::os::unix::process::ExitStatusExt;
    let cpu = || Cause::CompileLimit {
        what: "CPU time",
        limit: format!("{} s", limits.compile_cpu_seconds),
    };
    let memory = || Cause::CompileLimit {
        what: "memory",
        limit: format!("{} MiB", limits.compile_memory_bytes >> 20),
    };
    match status.signal() {
        Some(libc::SIGXCPU) | Some(libc::SIGKILL) => cpu(),
        Some(libc::SIGABRT) | Some(libc::SIGSEGV) if errors.contains("memory allocation") => memory(),
        _ if errors.contains("memory allocation") || errors.contains("out of memory") => memory(),
        Some(signal) => Cause::Invalid(format!("the compiler stopped on signal {signal}: {errors}")),
        None => Cause::Invalid(errors.to_string()),
    }
}

#[cfg(not(unix))]
fn classify(_status: std::process::ExitStatus, errors: &str, _limits: &Limits) -> Cause {
    Cause::Invalid(errors.to_string())
}

/// The child's CPU time and data size limits, set between fork and exec.
#[cfg(unix)]
fn bound(command: &mut Command, limits: &Limits) {
    use std::os::unix::process::CommandExt;
    let cpu = limits.compile_cpu_seconds as libc::rlim_t;
    // Data, not address space: the engine reserves (but never touches) address space for its
    // instance pool, which a memory limit must not count.
    let data = limits.compile_memory_bytes as libc::rlim_t;
    // SAFETY: setrlimit is async-signal-safe and touches nothing but the child's own limits.
    unsafe {
        command.pre_exec(move || {
            let set = |resource, soft: libc::rlim_t, hard: libc::rlim_t| {
                let limit = libc::rlimit {
                    rlim_cur: soft,
                    rlim_max: hard,
                };
                if libc::setrlimit(resource, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            };
            // SIGXCPU at the soft limit; the kernel kills outright a second later.
            set(libc::RLIMIT_CPU, cpu, cpu + 1)?;
            set(libc::RLIMIT_DATA, data, data)?;
            set(libc::RLIMIT_CORE, 0, 0)
        });
    }
}

#[cfg(not(unix))]
fn bound(_command: &mut Command, _limits: &Limits) {}

/// The child: reads a module on standard input, writes its compiled code on standard output.
pub fn serve(args: &[String]) -> ExitCode {
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<usize>().ok());
    let (Some(memory), Some(tables), Some(stack)) = (number(0), number(1), number(2)) else {
        eprintln!("usage: {COMPILE_COMMAND} MEMORY_BYTES TABLE_ELEMENTS STACK_BYTES < module.wasm");
        return ExitCode::from(2);
    };
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin()
        .take(Limits::CEILING.module_bytes as u64 + 1)
        .read_to_end(&mut bytes)
    {
        eprintln!("reading the module: {e}");
        return ExitCode::from(1);
    }
    let engine = match Engine::new(&super::host::engine_config(memory, tables, stack)) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("starting the policy engine: {e:#}");
            return ExitCode::from(1);
        }
    };
    match engine.precompile_module(&bytes) {
        Ok(code) => match std::io::stdout().write_all(&code) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("writing the compiled module: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::from(1)
        }
    }
}

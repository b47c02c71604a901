//! The one executable, installed as `oc-registry`, `kubectl-registry` and
//! `kubectl_complete-registry`; everything happens in the library.

fn main() -> std::process::ExitCode {
    oc_registry::cli::main()
}

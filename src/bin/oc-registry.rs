//! The one executable, installed as `oc-registry` and `kubectl-registry` (and answering as
//! `kubectl_complete-registry`); everything happens in the library.

fn main() -> std::process::ExitCode {
    oc_registry::cli::main()
}

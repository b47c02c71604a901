//! The `kubectl_complete-registry` executable kubectl runs to complete `kubectl registry <TAB>`.

fn main() -> std::process::ExitCode {
    oc_registry::cli::complete::kubectl_main()
}

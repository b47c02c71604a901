//! The `oc-registry` executable; everything happens in the library.

fn main() -> std::process::ExitCode {
    oc_registry::cli::main()
}

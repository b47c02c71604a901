//! Release tooling for oc-registry's krew distribution: archives, the manifest rendered from its
//! `.krew.yaml` template, krew's validation rules, and an emulation of `krew install` for tests.

pub mod archive;
pub mod install;
pub mod manifest;
pub mod template;

//! What is valid, and how a failure is told: rules for single values, findings about a field of
//! a Config (with the command that fixes it), and problems that keep the registry from rendering.
//! Everything above checks with these, so a value is judged the same wherever it comes from.

mod finding;
mod problem;
mod provisioning;
pub mod schedule;
mod text;
mod values;

pub use finding::{Finding, Severity, introduced};
pub use problem::Problem;
pub use provisioning::provisioning;
pub use text::printable;
pub use values::*;

//! Configuration changes made by commands: each patches only the fields it changes, under a
//! resourceVersion precondition, and redoes the change on a fresh read when someone else wrote
//! in between — so a concurrent edit is never lost. Changes are checked before they are written.

pub mod checks;
pub mod credentials;
pub mod edit;
pub mod pod;
pub mod trust;
pub mod write;

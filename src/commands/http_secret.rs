//! `http-secret rotate`: a new secret for the registry's upload state, generated here and never
//! shown.

use super::change::{self, WriteArgs};
use crate::commands::Context;
use crate::storage::{OsRandom, Randomness};
use anyhow::Result;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum HttpSecretCommand {
    /// Replace spec.httpSecret with 64 new random bytes (hex); the value is never printed
    #[command(
        long_about = "Replace spec.httpSecret, the key the registry's pods share to sign upload \
        state, with 64 bytes from the operating system's secure random source, hex-encoded as the \
        operator writes it. The value is never printed. The registry's pods restart to use it; uploads in \
        progress then fail and must be retried."
    )]
    Rotate(WriteArgs),
}

pub async fn run(cx: &Context, command: &HttpSecretCommand) -> Result<ExitCode> {
    let HttpSecretCommand::Rotate(dry_run) = command;
    let secret = OsRandom.hex(64);
    let code = change::config(cx, dry_run, move |spec| {
        spec.http_secret = Some(secret.clone());
        Ok(())
    })
    .await?;
    eprintln!("Warning: uploads in progress fail when the registry's pods restart with the new secret.");
    Ok(code)
}

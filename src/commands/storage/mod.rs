//! `storage …`: where the registry keeps images (`set DRIVER`) and the credentials it uses for
//! them (`credentials`).

mod claim;
pub mod credentials;
pub mod drivers;

use crate::commands::Context;
use anyhow::Result;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Store images with one storage driver, replacing any other
    #[command(subcommand)]
    Set(Box<drivers::DriverCommand>),
    /// The credentials the registry uses for its storage
    #[command(subcommand)]
    Credentials(credentials::CredentialsCommand),
}

pub async fn run(cx: &Context, command: &StorageCommand) -> Result<ExitCode> {
    match command {
        StorageCommand::Set(command) => drivers::run(cx, command).await,
        StorageCommand::Credentials(command) => credentials::run(cx, command).await,
    }
}

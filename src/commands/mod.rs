//! The headless subcommands. Each returns the process exit code.

pub mod check;
pub mod netpol;
pub mod report;
pub mod sim;

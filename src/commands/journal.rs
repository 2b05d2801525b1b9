//! `golive journal verify`: check a go-live journal's hash chain.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum JournalCommand {
    /// Detect any edited, reordered or removed line, and say where.
    Verify {
        /// The state directory (holding journal.jsonl).
        dir: PathBuf,
        /// A final hash a report printed: the journal must still hold that entry (lines
        /// removed from the end are found only against a hash kept elsewhere).
        #[arg(long, value_name = "HASH")]
        expect: Option<String>,
    },
}

pub fn run(command: JournalCommand) -> ExitCode {
    let JournalCommand::Verify { dir, expect } = command;
    super::report::verify(&dir, expect.as_deref())
}

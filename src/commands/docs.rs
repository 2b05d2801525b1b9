//! `golive completions SHELL` and `golive man`: what kubectl and k9s users expect to
//! install next to the binary. Both are generated from the command line definition, so
//! they never drift from it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Write golive.1 and one page per subcommand (golive-check.1, …) into DIR instead of
    /// printing golive.1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Prints the completion script for `shell`: `golive completions bash > /etc/bash_completion.d/golive`.
pub fn completions(args: CompletionsArgs, mut command: clap::Command) -> ExitCode {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "golive", &mut out);
    write_stdout(&out)
}

/// Prints the man page, or writes every page into `--out-dir`.
pub fn man(args: ManArgs, command: clap::Command) -> ExitCode {
    match args.out_dir {
        Some(dir) => {
            let written = std::fs::create_dir_all(&dir)
                .and_then(|()| clap_mangen::generate_to(command, &dir));
            match written {
                Ok(()) => {
                    eprintln!("golive man: pages written to {}", dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("golive man: cannot write to {}: {e}", dir.display());
                    ExitCode::from(2)
                }
            }
        }
        None => {
            let mut out = Vec::new();
            match clap_mangen::Man::new(command).render(&mut out) {
                Ok(()) => write_stdout(&out),
                Err(e) => {
                    eprintln!("golive man: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("golive: cannot write to standard output: {e}");
            ExitCode::from(2)
        }
    }
}

//! `skywave`: the Skywave node for expeditionary laptops, and its operator's command line.
//!
//! Today it holds the operator's tools for the air interface (`skywave frames ...`); the agent
//! that drives serial HF modems arrives with its own issue.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use skywave_host::frames;

/// Skywave: signed coalition policy over STANAG 5066 HF links.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make and read captures of STANAG 5066 D_PDUs.
    #[command(subcommand)]
    Frames(FramesCommand),
}

#[derive(Subcommand)]
enum FramesCommand {
    /// Write a pcap (link type 237) with every D_PDU type, address size and segment size.
    Sample {
        /// Where to write the capture.
        #[arg(long, value_name = "FILE.pcap")]
        out: PathBuf,
    },
    /// List the D_PDUs in a pcap or a raw serial byte stream, with CRC status and a summary.
    Decode {
        /// A pcap (link type 237) or raw bytes as captured from a serial port.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Frames(FramesCommand::Sample { out }) => frames::sample_command(&out),
        Command::Frames(FramesCommand::Decode { file }) => frames::decode_command(&file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `skywave frames decode x | head` closing the pipe early is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skywave: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

//! `skywave-linkemu`: an HF channel between two serial ports, in real time.
//!
//! ```text
//! skywave-linkemu [--device A --device B] [--bit-rate 2400] [--latency-ms 600]
//!                 [--preamble-ms 600] [--turnaround-ms 200] [--channel bernoulli:0.1]
//!                 [--corrupt 0.05] [--seed 1] [--outage 60:120]... [--noise 30:200]...
//! ```
//!
//! Without `--device`, it makes a pseudo-terminal pair itself and prints the two device paths
//! for the agents to open (`port a: /dev/pts/N`, `port b: /dev/pts/M`). While it runs,
//! `inject a|b|both FILE` on standard input writes a raw D_PDU stream to a port.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use skywave_host::outln;
use skywave_protocol::link::Modem;
use skywave_tools::linkemu::{self, Settings, parse_model, parse_probability};
use tokio_serial::{SerialPort, SerialPortBuilderExt, SerialStream};

/// Put an HF channel (the simulator's models) between two serial ports, in real time.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Use these two existing serial devices instead of making a PTY pair.
    #[arg(long = "device", num_args = 1, value_name = "PATH")]
    devices: Vec<String>,
    /// The air bit rate, 75..=9600.
    #[arg(long, default_value_t = 2400)]
    bit_rate: u32,
    /// Modem latency (interleaver) added to every frame, in ms.
    #[arg(long, default_value_t = 600)]
    latency_ms: u64,
    /// The preamble that starts every transmission, in ms.
    #[arg(long, default_value_t = 600)]
    preamble_ms: u64,
    /// Half-duplex turnaround when the other side starts talking, in ms.
    #[arg(long, default_value_t = 200)]
    turnaround_ms: u64,
    /// The probability that a delivered frame arrives with one bit flipped.
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    corrupt: f64,
    /// The channel: clean, bernoulli:P, ber:B, ccir-good, ccir-moderate, ccir-poor.
    #[arg(long, default_value = "clean", value_parser = parse_model)]
    channel: skywave_tools::sim::channel::Model,
    /// The seed of the loss pattern.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// An outage as START:END seconds after start (repeatable).
    #[arg(long = "outage", value_parser = parse_pair)]
    outages: Vec<(f64, f64)>,
    /// A noise burst as AT:BYTES (seconds after start, bytes; repeatable).
    #[arg(long = "noise", value_parser = parse_noise)]
    noise: Vec<(f64, usize)>,
    /// Print statistics every this many seconds (0: never).
    #[arg(long, default_value_t = 10)]
    stats_secs: u64,
}

fn parse_pair(text: &str) -> Result<(f64, f64), String> {
    let (a, b) = text.split_once(':').ok_or("expected START:END")?;
    let parse = |v: &str| {
        v.parse::<f64>()
            .map_err(|_| format!("{v:?} is not seconds"))
    };
    let (a, b) = (parse(a)?, parse(b)?);
    if b <= a {
        return Err(format!("{text}: the outage ends before it starts"));
    }
    Ok((a, b))
}

fn parse_noise(text: &str) -> Result<(f64, usize), String> {
    let (at, bytes) = text.split_once(':').ok_or("expected AT:BYTES")?;
    Ok((
        at.parse().map_err(|_| format!("{at:?} is not seconds"))?,
        bytes
            .parse()
            .map_err(|_| format!("{bytes:?} is not a byte count"))?,
    ))
}

fn open(path: &str) -> anyhow::Result<SerialStream> {
    tokio_serial::new(path, 115_200)
        .open_native_async()
        .map_err(|e| anyhow::anyhow!("{path}: {e}"))
}

async fn main_async(cli: Cli) -> anyhow::Result<()> {
    if !(75..=9600).contains(&cli.bit_rate) {
        anyhow::bail!("--bit-rate {} is not 75..=9600", cli.bit_rate);
    }
    // The PTYs' own ends stay open for the emulator's life: reading a PTY master whose other
    // end nobody holds fails (EIO), and agents come and go (restarts) while the rig runs.
    let mut held = Vec::new();
    let (a, b) = match cli.devices.as_slice() {
        [] => {
            let (a, a_slave) = SerialStream::pair()?;
            let (b, b_slave) = SerialStream::pair()?;
            let name = |s: &SerialStream| s.name().unwrap_or_default();
            outln!("port a: {}", name(&a_slave))?;
            outln!("port b: {}", name(&b_slave))?;
            held.extend([a_slave, b_slave]);
            (a, b)
        }
        [a, b] => (open(a)?, open(b)?),
        _ => anyhow::bail!("give --device twice, or not at all"),
    };
    let ms = skywave_protocol::time::Duration::from_millis;
    let modem = Modem {
        bit_rate: cli.bit_rate,
        interleaver: ms(cli.latency_ms),
        preamble: ms(cli.preamble_ms),
        turnaround: ms(cli.turnaround_ms),
        ..Modem::hf_2400_short()
    };
    let settings = Settings {
        modem,
        model: cli.channel,
        seed: cli.seed,
        outages: cli.outages,
        noise: cli.noise,
        corrupt: cli.corrupt,
        stats_every: (cli.stats_secs > 0).then(|| Duration::from_secs(cli.stats_secs)),
    };
    let result = linkemu::run(a, b, settings).await;
    drop(held);
    result
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(main_async(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skywave-linkemu: {e:#}");
            ExitCode::FAILURE
        }
    }
}

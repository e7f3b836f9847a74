//! `skywave-linkemu`: the simulator's HF channel between two real serial ports, in real time.
//!
//! Agents (or firmware under QEMU) open the two ports as if each were a modem. Bytes written to
//! one come out of the other the way they would cross an HF channel: the emulator finds the
//! D_PDUs with the protocol's deframer, puts each on a shared half-duplex channel at the modem's
//! bit rate (so frames from both sides queue behind each other), drops it if the channel model
//! ([`crate::sim::channel`], the simulator's own models and presets) or an outage says so, and
//! delivers it after the modem's latency. Bytes that are not part of a frame are not carried (a
//! modem does not transmit line noise); noise bursts are injected on schedule instead. A seed
//! makes the loss pattern reproducible.

use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use skywave_protocol::link::Modem;
use skywave_protocol::wire::{Deframer, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;
use tokio_serial::SerialStream;

use crate::sim::channel::{Channel, Model, Preset};
use crate::sim::split_seed;

/// Parses a channel model: `clean`, `bernoulli:P`, `ber:B`, `ccir-good`, `ccir-moderate` or
/// `ccir-poor`.
pub fn parse_model(text: &str) -> Result<Model, String> {
    let number = |v: &str| {
        v.parse::<f64>()
            .ok()
            .filter(|p| (0.0..=1.0).contains(p))
            .ok_or_else(|| format!("{v:?} is not a probability"))
    };
    let fading = |preset| Model::Fading {
        preset,
        correctable: 0.15,
    };
    Ok(match text.split_once(':') {
        None if text == "clean" => Model::Clean,
        None if text == "ccir-good" => fading(Preset::CcirGood),
        None if text == "ccir-moderate" => fading(Preset::CcirModerate),
        None if text == "ccir-poor" => fading(Preset::CcirPoor),
        Some(("bernoulli", p)) => Model::Bernoulli { p: number(p)? },
        Some(("ber", b)) => Model::Ber { ber: number(b)? },
        _ => {
            return Err(format!(
                "{text:?}: expected clean, bernoulli:P, ber:B, ccir-good, ccir-moderate or ccir-poor"
            ));
        }
    })
}

/// What the emulator does.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The modem: bit rate and latency (interleaver) matter here.
    pub modem: Modem,
    /// The channel model, the same for both directions (independent random streams).
    pub model: Model,
    /// The seed of the loss pattern.
    pub seed: u64,
    /// Outages as (start, end) seconds after the emulator starts: nothing crosses.
    pub outages: Vec<(f64, f64)>,
    /// Noise bursts as (at seconds, bytes): random bytes written to both ports.
    pub noise: Vec<(f64, usize)>,
    /// How often to print statistics (never when `None`).
    pub stats_every: Option<Duration>,
}

/// Counters of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// D_PDUs found in what the sender wrote.
    pub frames: u64,
    /// D_PDUs delivered to the other port.
    pub delivered: u64,
    /// D_PDUs the channel or an outage lost.
    pub lost: u64,
}

/// The half-duplex channel both directions share.
struct Air {
    busy_until: Instant,
    started: Instant,
    stats: [DirectionStats; 2],
}

/// Runs the emulator between `a` and `b` until either port closes.
pub async fn run(a: SerialStream, b: SerialStream, settings: Settings) -> anyhow::Result<()> {
    let (a_rx, a_tx) = tokio::io::split(a);
    let (b_rx, b_tx) = tokio::io::split(b);
    let now = Instant::now();
    let air = std::sync::Arc::new(Mutex::new(Air {
        busy_until: now,
        started: now,
        stats: [DirectionStats::default(); 2],
    }));
    let (to_a, a_out) = mpsc::unbounded_channel();
    let (to_b, b_out) = mpsc::unbounded_channel();
    let directions = [
        tokio::spawn(carry(0, a_rx, to_b.clone(), air.clone(), settings.clone())),
        tokio::spawn(carry(1, b_rx, to_a.clone(), air.clone(), settings.clone())),
    ];
    let writers = [
        tokio::spawn(write(a_tx, a_out)),
        tokio::spawn(write(b_tx, b_out)),
    ];
    let noise = tokio::spawn(inject_noise(
        settings.noise.clone(),
        settings.seed,
        [to_a, to_b],
        now,
    ));
    if let Some(every) = settings.stats_every {
        let air = air.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let air = air.lock().await;
                let [ab, ba] = air.stats;
                println!(
                    "a->b: {} frames, {} delivered, {} lost | b->a: {} frames, {} delivered, {} lost",
                    ab.frames, ab.delivered, ab.lost, ba.frames, ba.delivered, ba.lost
                );
            }
        });
    }
    let [one, two] = directions;
    tokio::select! {
        r = one => r??,
        r = two => r??,
    }
    noise.abort();
    for w in writers {
        w.abort();
    }
    Ok(())
}

/// Reads what side `from` writes and puts its frames on the air towards the other side.
async fn carry(
    from: usize,
    mut rx: ReadHalf<SerialStream>,
    to: mpsc::UnboundedSender<(Instant, Vec<u8>)>,
    air: std::sync::Arc<Mutex<Air>>,
    settings: Settings,
) -> anyhow::Result<()> {
    let mut channel = Channel::new(settings.model, split_seed(settings.seed, from as u64, 0));
    let mut deframer: Box<Deframer> = Box::default();
    let mut buf = [0u8; 1024];
    let latency = Duration::from_millis(settings.modem.interleaver.millis());
    loop {
        let n = rx.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let mut rest = buf.get(..n).unwrap_or_default();
        while !rest.is_empty() {
            let taken = deframer.feed(rest);
            rest = rest.get(taken..).unwrap_or_default();
            while let Some(event) = deframer.poll() {
                let frame = match event {
                    Event::Good { frame, .. } | Event::BadData { frame, .. } => frame.as_bytes(),
                    Event::BadHeader { .. } => continue,
                };
                let airtime = Duration::from_millis(settings.modem.airtime(frame.len()).millis());
                let mut air = air.lock().await;
                let start = air.busy_until.max(Instant::now());
                let end = start + airtime;
                air.busy_until = end;
                let secs = |t: Instant| (t - air.started).as_secs_f64();
                let (start_s, end_s) = (secs(start), secs(end));
                let out = settings
                    .outages
                    .iter()
                    .any(|&(s, e)| start_s >= s && start_s < e);
                let lost = out || channel.loses(frame.len(), start_s, end_s, latency.as_secs_f64());
                let stats = air
                    .stats
                    .get_mut(from)
                    .ok_or_else(|| anyhow::anyhow!("side"))?;
                stats.frames += 1;
                if lost {
                    stats.lost += 1;
                } else {
                    stats.delivered += 1;
                    let _ = to.send((end + latency, frame.to_vec()));
                }
            }
        }
    }
}

/// Writes what crossed to one port, each at its arrival time.
async fn write(
    mut tx: WriteHalf<SerialStream>,
    mut arrivals: mpsc::UnboundedReceiver<(Instant, Vec<u8>)>,
) -> anyhow::Result<()> {
    while let Some((at, bytes)) = arrivals.recv().await {
        tokio::time::sleep_until(at).await;
        tx.write_all(&bytes).await?;
    }
    Ok(())
}

async fn inject_noise(
    bursts: Vec<(f64, usize)>,
    seed: u64,
    ports: [mpsc::UnboundedSender<(Instant, Vec<u8>)>; 2],
    started: Instant,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(split_seed(seed, 99, 0));
    let mut bursts = bursts;
    bursts.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (at, bytes) in bursts {
        // Sent when due, so a burst never holds back frames queued before it.
        let when = started + Duration::from_secs_f64(at.max(0.0));
        tokio::time::sleep_until(when).await;
        let mut noise = vec![0u8; bytes];
        rng.fill_bytes(&mut noise);
        for port in &ports {
            let _ = port.send((when, noise.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_models_parse() {
        assert_eq!(parse_model("clean"), Ok(Model::Clean));
        assert_eq!(
            parse_model("bernoulli:0.1"),
            Ok(Model::Bernoulli { p: 0.1 })
        );
        assert!(matches!(
            parse_model("ccir-poor"),
            Ok(Model::Fading {
                preset: Preset::CcirPoor,
                ..
            })
        ));
        assert!(parse_model("bernoulli:1.5").is_err());
        assert!(parse_model("rain").is_err());
    }
}

//! `skywave-linkemu`: the simulator's HF channel between two real serial ports, in real time.
//!
//! Agents (or firmware under QEMU) open the two ports as if each were a modem. Bytes written to
//! one come out of the other the way they would cross an HF channel: the emulator finds the
//! D_PDUs with the protocol's deframer, puts each on a shared half-duplex channel at the modem's
//! bit rate, drops it if the channel model ([`crate::sim::channel`], the simulator's own models
//! and presets) or an outage says so, and delivers it after the modem's latency. Bytes that are
//! not part of a frame are not carried (a modem does not transmit line noise); noise bursts are
//! injected on schedule instead, and frames can be delivered damaged. A seed makes the loss
//! pattern reproducible.
//!
//! The air is modelled as the simulator's [`Modem`] describes a transmission: frames a side
//! writes while its transmission is still on the air go out back to back; otherwise they open a
//! new transmission, which keys up once the channel is free (after the other side's turnaround
//! when the direction changes) and sends a preamble first. A transmission holds the channel
//! until its last frame has left the interleaver, so a reply never overlaps what it answers.
//!
//! Lines on standard input steer a running emulator: `inject a|b|both FILE` writes the bytes of
//! FILE (a raw D_PDU stream, e.g. forged frames) to that port as if heard on the air.

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

/// Prints a line of the emulator's report to standard output. The report is for whoever
/// watches; if they stopped reading (a test that took the device paths and went on), the
/// emulator carries on regardless.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Parses a probability, 0 to 1.
pub fn parse_probability(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| format!("{text:?} is not a probability"))
}

/// Parses a channel model: `clean`, `bernoulli:P`, `ber:B`, `ccir-good`, `ccir-moderate` or
/// `ccir-poor`.
pub fn parse_model(text: &str) -> Result<Model, String> {
    let fading = |preset| Model::Fading {
        preset,
        correctable: 0.15,
    };
    Ok(match text.split_once(':') {
        None if text == "clean" => Model::Clean,
        // The old snake_case spellings of the scenario files are read too.
        None if text == "ccir-good" || text == "ccir_good" => fading(Preset::CcirGood),
        None if text == "ccir-moderate" || text == "ccir_moderate" => fading(Preset::CcirModerate),
        None if text == "ccir-poor" || text == "ccir_poor" => fading(Preset::CcirPoor),
        Some(("bernoulli", p)) => Model::Bernoulli {
            p: parse_probability(p)?,
        },
        Some(("ber", b)) => Model::Ber {
            ber: parse_probability(b)?,
        },
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
    /// The probability that a frame the channel delivers arrives with one bit flipped (its CRC
    /// then fails at the receiver).
    pub corrupt: f64,
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
    /// D_PDUs delivered with a bit flipped.
    pub corrupted: u64,
    /// Transmissions (key-ups, each with its preamble).
    pub transmissions: u64,
}

/// The half-duplex channel both directions share.
struct Air {
    /// The side whose transmission was last on the air.
    talker: Option<usize>,
    /// When the last bit of that transmission's latest frame leaves the transmitter.
    bits_until: Instant,
    /// When that transmission keys down: its last frame out of the interleaver.
    key_down: Instant,
    started: Instant,
    stats: [DirectionStats; 2],
}

impl Air {
    /// When a frame of `airtime` that side `from` wrote at `now` goes on the air; opens a new
    /// transmission (turnaround and preamble first) unless `from`'s is still keyed.
    fn schedule(&mut self, from: usize, now: Instant, airtime: Duration, modem: &Modem) -> Instant {
        let ms = |d: skywave_protocol::time::Duration| Duration::from_millis(d.millis());
        let start = if self.talker == Some(from) && now < self.key_down {
            self.bits_until.max(now)
        } else {
            let free = match self.talker {
                Some(other) if other != from => self.key_down + ms(modem.turnaround),
                _ => self.key_down,
            };
            self.talker = Some(from);
            if let Some(stats) = self.stats.get_mut(from) {
                stats.transmissions += 1;
            }
            free.max(now) + ms(modem.preamble)
        };
        self.bits_until = start + airtime;
        self.key_down = self.bits_until + ms(modem.interleaver);
        start
    }
}

/// Runs the emulator between `a` and `b` until either port closes.
pub async fn run(a: SerialStream, b: SerialStream, settings: Settings) -> anyhow::Result<()> {
    let (a_rx, a_tx) = tokio::io::split(a);
    let (b_rx, b_tx) = tokio::io::split(b);
    let now = Instant::now();
    let air = std::sync::Arc::new(Mutex::new(Air {
        talker: None,
        bits_until: now,
        key_down: now,
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
        [to_a.clone(), to_b.clone()],
        now,
    ));
    let commands = tokio::spawn(obey_commands([to_a, to_b]));
    if let Some(every) = settings.stats_every {
        let air = air.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let air = air.lock().await;
                let [ab, ba] = air.stats;
                say!(
                    "a->b: {} frames in {} transmissions, {} delivered ({} damaged), {} lost | b->a: {} frames in {} transmissions, {} delivered ({} damaged), {} lost",
                    ab.frames,
                    ab.transmissions,
                    ab.delivered,
                    ab.corrupted,
                    ab.lost,
                    ba.frames,
                    ba.transmissions,
                    ba.delivered,
                    ba.corrupted,
                    ba.lost
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
    commands.abort();
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
    let mut damage = ChaCha8Rng::seed_from_u64(split_seed(settings.seed, from as u64, 1));
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
                let start = air.schedule(from, Instant::now(), airtime, &settings.modem);
                let end = start + airtime;
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
                    let mut frame = frame.to_vec();
                    if damage_frame(&mut damage, settings.corrupt, &mut frame) {
                        stats.corrupted += 1;
                    }
                    let _ = to.send((end + latency, frame));
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

/// With probability `p`, flips one random bit of `frame`; says whether it did.
fn damage_frame(rng: &mut ChaCha8Rng, p: f64, frame: &mut [u8]) -> bool {
    // 53 random bits make a uniform number in [0, 1).
    let draw = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    if frame.is_empty() || draw >= p {
        return false;
    }
    let bit = rng.next_u64() as usize % (frame.len() * 8);
    match frame.get_mut(bit / 8) {
        Some(byte) => {
            *byte ^= 1 << (bit % 8);
            true
        }
        None => false,
    }
}

/// Follows the commands on standard input until it closes (see the module docs).
async fn obey_commands(ports: [mpsc::UnboundedSender<(Instant, Vec<u8>)>; 2]) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        match command(&line) {
            Ok(Command::Inject { sides, path }) => match tokio::fs::read(&path).await {
                Ok(bytes) => {
                    for (side, port) in ["a", "b"].iter().zip(&ports) {
                        if sides.contains(side) {
                            let _ = port.send((Instant::now(), bytes.clone()));
                            say!("injected {} bytes into port {side}", bytes.len());
                        }
                    }
                }
                Err(e) => say!("inject: {path}: {e}"),
            },
            Err(e) => say!("{e}"),
        }
    }
}

/// A command read from standard input.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// Write the bytes of `path` to the ports in `sides`.
    Inject {
        sides: &'static [&'static str],
        path: String,
    },
}

fn command(line: &str) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["inject", side, path] => {
            let sides: &'static [&'static str] = match *side {
                "a" => &["a"],
                "b" => &["b"],
                "both" => &["a", "b"],
                other => return Err(format!("inject: {other:?} is not a, b or both")),
            };
            Ok(Command::Inject {
                sides,
                path: (*path).to_owned(),
            })
        }
        _ => Err(format!("{line:?}: expected `inject a|b|both FILE`")),
    }
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

    #[test]
    fn commands_parse() {
        assert_eq!(
            command("inject both /tmp/x.bin"),
            Ok(Command::Inject {
                sides: &["a", "b"],
                path: "/tmp/x.bin".into()
            })
        );
        assert!(command("inject c /tmp/x").is_err());
        assert!(command("jam").is_err());
    }

    #[test]
    fn a_reply_waits_for_key_down_and_turnaround_and_sends_a_preamble() {
        let modem = Modem::hf_2400_short();
        let t0 = Instant::now();
        let mut air = Air {
            talker: None,
            bits_until: t0,
            key_down: t0,
            started: t0,
            stats: Default::default(),
        };
        let second = Duration::from_secs(1);
        // A's first frame: preamble first.
        assert_eq!(air.schedule(0, t0, second, &modem), t0 + ms(600));
        // A's second frame, written meanwhile: back to back.
        assert_eq!(air.schedule(0, t0, second, &modem), t0 + ms(1600));
        // B answers at once: after A's key-down (interleaver), turnaround and its preamble.
        assert_eq!(
            air.schedule(1, t0 + ms(100), second, &modem),
            t0 + ms(2600 + 600 + 200 + 600)
        );
        assert_eq!(air.stats[0].transmissions, 1);
        assert_eq!(air.stats[1].transmissions, 1);
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn damage_flips_exactly_one_bit_at_the_given_rate() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut damaged = 0;
        for _ in 0..1000 {
            let mut frame = [0u8; 40];
            if damage_frame(&mut rng, 0.25, &mut frame) {
                damaged += 1;
                assert_eq!(frame.iter().map(|b| b.count_ones()).sum::<u32>(), 1);
            } else {
                assert_eq!(frame, [0u8; 40]);
            }
        }
        assert!((200..300).contains(&damaged), "{damaged} of 1000");
    }
}

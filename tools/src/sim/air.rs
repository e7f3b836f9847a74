//! The air between radios: who hears a D_PDU, when, and what it costs.
//!
//! Both simulators (the link-layer one in [`super`] and the store-and-forward one in
//! [`super::coalition`]) put frames on the air through this, so they share one model: every
//! radio is on one net (an HF channel), every transmitter-receiver pair on a net has its own
//! loss process ([`Channel`]) seeded from the run's seed, net and station outages (scheduled
//! and random) silence frames, a frame reaches a receiver one interleaver span after its last
//! bit, and a radio hears nothing while it transmits or turns around. Frame, airtime and loss
//! counts and the pcap capture are kept here.

use anyhow::{Context, anyhow};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use skywave_protocol::capture::{self, Timestamp};
use skywave_protocol::link::{Modem, Transmit};
use skywave_protocol::time::Instant;

use super::channel::{Channel, Model, exponential};
use super::report::ChannelTotals;
use super::scenario::{OutageSpec, RandomOutageSpec};
use super::{secs, split_seed};

/// Down intervals, in seconds, sorted.
type Outages = Vec<(f64, f64)>;

fn down(outages: &Outages, t: f64) -> bool {
    outages.iter().any(|&(s, e)| t >= s && t < e)
}

/// One radio: a station's modem on one net.
#[derive(Clone, Copy, Debug)]
pub struct Radio {
    /// The net it is on.
    pub net: usize,
    /// The station it belongs to (station outages silence all its radios).
    pub station: usize,
}

/// The nets, their radios and what crossed them.
pub struct Air {
    modem: Modem,
    radios: Vec<Radio>,
    /// Key-down of each radio's current or last transmission.
    keyed_until: Vec<Instant>,
    /// For each transmitting radio, its receivers and their channels.
    paths: Vec<Vec<(usize, Channel)>>,
    net_outages: Vec<Outages>,
    station_outages: Vec<Outages>,
    capture: Option<Vec<u8>>,
    /// What crossed the air so far.
    pub totals: ChannelTotals,
}

impl Air {
    /// The air for `radios` on nets with loss models `nets`, outages resolved by name through
    /// `net_index` and `station_index`, with every random stream derived from `seed`. Radio
    /// `i` to radio `j` gets sub-seed `split_seed(seed, 1 + i, 1 + j)`; random outage process
    /// `k` gets `split_seed(seed, 0, 1000 + k)`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        modem: Modem,
        radios: Vec<Radio>,
        nets: &[Model],
        stations: usize,
        outages: &[OutageSpec],
        random_outages: &[RandomOutageSpec],
        duration_s: f64,
        net_index: impl Fn(&str) -> anyhow::Result<usize>,
        station_index: impl Fn(&str) -> anyhow::Result<usize>,
        seed: u64,
        capture: bool,
    ) -> anyhow::Result<Self> {
        let mut paths = Vec::new();
        for (i, a) in radios.iter().enumerate() {
            let model = *nets.get(a.net).ok_or_else(|| anyhow!("net missing"))?;
            let mut rx = Vec::new();
            for (j, b) in radios.iter().enumerate() {
                if i != j && a.net == b.net && a.station != b.station {
                    let seed = split_seed(seed, 1 + i as u64, 1 + j as u64);
                    rx.push((j, Channel::new(model, seed)));
                }
            }
            paths.push(rx);
        }
        let mut net_outages = vec![Outages::new(); nets.len()];
        let mut station_outages = vec![Outages::new(); stations];
        for o in outages {
            let list = match (&o.net, &o.node) {
                (Some(n), _) => net_outages.get_mut(net_index(n)?),
                (_, Some(n)) => station_outages.get_mut(station_index(n)?),
                _ => None,
            };
            if let Some(l) = list {
                l.push((o.start_s, o.end_s));
            }
        }
        for (k, o) in random_outages.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(split_seed(seed, 0, 1000 + k as u64));
            let list = net_outages
                .get_mut(net_index(&o.net)?)
                .context("net index")?;
            let mut t = exponential(&mut rng, o.mean_up_s);
            while t < duration_s {
                let d = exponential(&mut rng, o.mean_down_s);
                list.push((t, t + d));
                t += d + exponential(&mut rng, o.mean_up_s);
            }
        }
        Ok(Air {
            modem,
            keyed_until: vec![Instant::ZERO; radios.len()],
            radios,
            paths,
            net_outages,
            station_outages,
            capture: capture.then(|| capture::file_header().to_vec()),
            totals: ChannelTotals::default(),
        })
    }

    /// Whether `station` is off the air at `t` (seconds).
    pub fn station_down(&self, station: usize, t: f64) -> bool {
        self.station_outages
            .get(station)
            .is_some_and(|o| down(o, t))
    }

    /// Whether `radio` can hear a frame arriving at `now`: not while it transmits or turns
    /// around (counted as unheard).
    pub fn hears(&mut self, radio: usize, now: Instant) -> bool {
        let keyed = self
            .keyed_until
            .get(radio)
            .copied()
            .unwrap_or(Instant::ZERO);
        if keyed + self.modem.turnaround > now {
            self.totals.frames_unheard += 1;
            return false;
        }
        true
    }

    /// Puts `frame`, returned by radio `radio`'s link as `t`, on the air: counts it, captures
    /// it, and returns when it reaches which radios (those the channel and outages spare).
    pub fn send(&mut self, radio: usize, t: &Transmit, frame: &[u8]) -> (Instant, Vec<usize>) {
        let modem = self.modem;
        let interleaver = secs(Instant::ZERO + modem.interleaver);
        if let Some(k) = self.keyed_until.get_mut(radio) {
            *k = t.end;
        }
        let air = modem.airtime(t.len);
        let start = secs(t.on_air);
        let stop = secs(t.on_air + air);
        self.totals.frames_sent += 1;
        self.totals.airtime_s += stop - start;
        if t.first {
            self.totals.transmissions += 1;
            self.totals.overhead_s += secs(Instant::ZERO + modem.overhead());
        }
        if let Some(capture) = &mut self.capture {
            let ts = Timestamp {
                secs: (t.on_air.millis() / 1000) as u32,
                micros: (t.on_air.millis() % 1000) as u32 * 1000,
            };
            capture.extend_from_slice(&capture::record_header(ts, t.len as u32));
            capture.extend_from_slice(frame);
        }
        let Some(&Radio { net, station }) = self.radios.get(radio) else {
            return (t.on_air, Vec::new());
        };
        let sender_down = self.station_down(station, start);
        let net_down = self.net_outages.get(net).is_some_and(|o| down(o, start));
        let mut deliveries = Vec::new();
        if let Some(paths) = self.paths.get_mut(radio) {
            for (j, channel) in paths.iter_mut() {
                // Draw the channel's randomness even when an outage decides, so outages do
                // not shift every later loss.
                let faded = channel.loses(t.len, start, stop, interleaver);
                let receiver_down = self.radios.get(*j).is_some_and(|r| {
                    self.station_outages
                        .get(r.station)
                        .is_some_and(|o| down(o, start))
                });
                if faded || sender_down || net_down || receiver_down {
                    self.totals.frames_lost += 1;
                } else {
                    deliveries.push(*j);
                }
            }
        }
        (modem.arrival(t.on_air, t.len), deliveries)
    }

    /// The pcap capture (empty if none was asked for).
    pub fn take_capture(&mut self) -> Vec<u8> {
        self.capture.take().unwrap_or_default()
    }
}

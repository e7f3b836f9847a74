//! Bearers: the agent's links to the air.
//!
//! A bearer is a task that owns one port. Bytes it reads go through the protocol's
//! [`Deframer`], and each D_PDU found is reported as a [`BearerEvent`]; D_PDUs it is given are
//! written out unchanged. It knows nothing of ARQ, queues or policy: those live in
//! `skywave-protocol`, driven by the agent, so a port that goes away costs nothing but time. The
//! bearer reports [`BearerEvent::Down`], retries with exponential backoff, and reports
//! [`BearerEvent::Up`] when the port is back; frames handed to it meanwhile wait in its bounded
//! channel, and the agent's own queues hold the rest.
//!
//! - [`serial`]: an HF modem on a serial port (tokio-serial), the modem doing the waveform.
//! - [`udp`]: one D_PDU per datagram, for software modems and lab rigs.
//! - [`sis`]: another 5066 node, bound as its SIS client over TCP; its frames are framed SIS
//!   primitives, not D_PDUs (the link's carrier, not the deframer, reads them).

pub mod serial;
pub mod sis;
pub mod udp;

use std::time::Duration;

use bytes::Bytes;
use skywave_protocol::wire::{Deframer, DeframerStats, Event};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// D_PDUs waiting to be written when the port is slow or down, per bearer.
pub const OUTGOING_CAPACITY: usize = 256;
/// Events waiting for the agent to take them, per bearer.
pub const EVENT_CAPACITY: usize = 1024;

/// What a bearer reports to the agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BearerEvent {
    /// The port is open: frames flow from now on.
    Up,
    /// A D_PDU whose CRCs are correct, exactly as received.
    Frame(Bytes),
    /// A D_PDU whose header CRC is correct but whose data is damaged or cut short: its header
    /// may still drive ARQ, its data must not be delivered.
    Damaged(Bytes),
    /// Bytes on the line that were no frame: noise, false sync words, headers that failed
    /// their CRC. Reported after the frames found with them, as counts since the last report.
    Noise {
        /// Bytes that belonged to no frame.
        bytes: u64,
        /// Sync words whose header was impossible or failed its CRC.
        bad_headers: u64,
    },
    /// The port failed or could not be opened; the bearer tries again after `retry_in`.
    Down {
        /// What went wrong, for the operator.
        reason: String,
        /// How long until the next attempt.
        retry_in: Duration,
    },
}

/// The agent's side of a running bearer. Dropping it stops the task.
#[derive(Debug)]
pub struct Bearer {
    sender: BearerSender,
    events: mpsc::Receiver<BearerEvent>,
}

/// The sending half of a bearer. Dropping it stops the bearer's task.
#[derive(Debug)]
pub struct BearerSender {
    outgoing: mpsc::Sender<Bytes>,
    task: JoinHandle<()>,
}

impl Bearer {
    /// Starts the task that keeps `port` open.
    pub fn spawn<P: Port>(port: P) -> Self {
        let (outgoing, outgoing_rx) = mpsc::channel(OUTGOING_CAPACITY);
        let (events_tx, events) = mpsc::channel(EVENT_CAPACITY);
        let task = tokio::spawn(keep_open(port, outgoing_rx, events_tx));
        Bearer {
            sender: BearerSender { outgoing, task },
            events,
        }
    }

    /// Queues one D_PDU for the port. Waits while the outgoing channel is full.
    pub async fn send(&self, dpdu: Bytes) -> anyhow::Result<()> {
        self.sender.send(dpdu).await
    }

    /// The next event, or `None` once the task has stopped.
    pub async fn next_event(&mut self) -> Option<BearerEvent> {
        self.events.recv().await
    }

    /// Splits the bearer into its sending half and its event stream, for a driver that waits
    /// on the events of many bearers at once.
    pub fn split(self) -> (BearerSender, mpsc::Receiver<BearerEvent>) {
        (self.sender, self.events)
    }
}

impl BearerSender {
    /// Queues one D_PDU for the port if there is room, without waiting.
    pub fn try_send(&self, dpdu: Bytes) -> anyhow::Result<()> {
        self.outgoing.try_send(dpdu).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => anyhow::anyhow!("bearer queue full"),
            mpsc::error::TrySendError::Closed(_) => anyhow::anyhow!("bearer task has stopped"),
        })
    }

    /// Queues one D_PDU for the port. Waits while the outgoing channel is full.
    pub async fn send(&self, dpdu: Bytes) -> anyhow::Result<()> {
        self.outgoing
            .send(dpdu)
            .await
            .map_err(|_| anyhow::anyhow!("bearer task has stopped"))
    }
}

impl Drop for BearerSender {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Exponential backoff between attempts to open a port: 250 ms doubling to 30 s, back to the
/// start after a success. A modem unplugged for an hour costs 120 attempts, not thousands.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(250);
    const MAX: Duration = Duration::from_secs(30);

    /// A backoff at its first step.
    pub fn new() -> Self {
        Backoff { next: Self::FIRST }
    }

    /// The delay before the next attempt; each call doubles the one after, up to 30 s.
    pub fn step(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        now
    }

    /// After a success: the next failure waits the shortest delay again.
    pub fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// A deframer that hands out owned frames, for bearers that must pass them across tasks.
pub struct FrameReader {
    deframer: Box<Deframer>,
    /// The counters as last reported in a [`BearerEvent::Noise`].
    reported: DeframerStats,
}

impl FrameReader {
    /// An empty reader.
    pub fn new() -> Self {
        FrameReader {
            deframer: Box::default(),
            reported: DeframerStats::default(),
        }
    }

    /// Feeds `bytes` and appends an event for every frame found.
    pub fn push(&mut self, mut bytes: &[u8], found: &mut Vec<BearerEvent>) {
        while !bytes.is_empty() {
            let taken = self.deframer.feed(bytes);
            bytes = bytes.get(taken..).unwrap_or_default();
            self.drain(found);
        }
    }

    /// The line went quiet: gives up on any frame still waiting for bytes and reports
    /// everything complete behind it.
    pub fn flush(&mut self, found: &mut Vec<BearerEvent>) {
        self.deframer.flush();
        self.drain(found);
    }

    /// Whether bytes are held that the next read or a flush will resolve.
    pub fn has_pending(&self) -> bool {
        self.deframer.pending() > 0
    }

    /// Counters since the reader was made.
    pub fn stats(&self) -> DeframerStats {
        self.deframer.stats()
    }

    fn drain(&mut self, found: &mut Vec<BearerEvent>) {
        while let Some(event) = self.deframer.poll() {
            match event {
                Event::Good { frame, .. } => {
                    found.push(BearerEvent::Frame(Bytes::copy_from_slice(frame.as_bytes())));
                }
                Event::BadData { frame, .. } => {
                    found.push(BearerEvent::Damaged(Bytes::copy_from_slice(
                        frame.as_bytes(),
                    )));
                }
                Event::BadHeader { .. } => {}
            }
        }
        let stats = self.deframer.stats();
        let bytes = stats.noise_bytes - self.reported.noise_bytes;
        let bad_headers = stats.bad_header - self.reported.bad_header;
        if bytes > 0 || bad_headers > 0 {
            found.push(BearerEvent::Noise { bytes, bad_headers });
            self.reported = stats;
        }
    }
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

/// A kind of port a bearer keeps open: how to open it and how to move bytes through it. Public
/// so that a port outside this crate (the simulator's radio nets, `skywave_tools::demo`) makes a
/// bearer like any other.
pub trait Port: Send + Sync + 'static {
    /// The opened port.
    type Open: Send;

    /// The port's name in logs.
    fn describe(&self) -> String;

    /// Opens the port; the error says why not, naming the device or address.
    fn open(&self) -> impl Future<Output = Result<Self::Open, String>> + Send;

    /// Moves bytes both ways until the port fails (returns why) or the agent has gone
    /// (returns `None`).
    fn pump(
        &self,
        port: Self::Open,
        outgoing: &mut mpsc::Receiver<Bytes>,
        events: &mpsc::Sender<BearerEvent>,
    ) -> impl Future<Output = Option<String>> + Send;
}

/// Keeps `port` open for the life of the bearer: open it, report [`BearerEvent::Up`], pump
/// until it fails, report [`BearerEvent::Down`], wait out the backoff, and try again. Returns
/// when the agent drops its side.
async fn keep_open<P: Port>(
    port: P,
    mut outgoing: mpsc::Receiver<Bytes>,
    events: mpsc::Sender<BearerEvent>,
) {
    let mut backoff = Backoff::new();
    loop {
        let reason = match port.open().await {
            Ok(open) => {
                backoff.reset();
                if events.send(BearerEvent::Up).await.is_err() {
                    return;
                }
                match port.pump(open, &mut outgoing, &events).await {
                    Some(reason) => reason,
                    None => return,
                }
            }
            Err(reason) => reason,
        };
        let retry_in = backoff.step();
        tracing::warn!(bearer = %port.describe(), %reason, ?retry_in, "bearer down");
        if events
            .send(BearerEvent::Down { reason, retry_in })
            .await
            .is_err()
        {
            return;
        }
        tokio::time::sleep(retry_in).await;
    }
}

/// Sends `found` to the agent; false if the agent has gone (the bearer should stop).
pub async fn deliver(events: &mpsc::Sender<BearerEvent>, found: &mut Vec<BearerEvent>) -> bool {
    for event in found.drain(..) {
        if events.send(event).await.is_err() {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_ceiling_and_resets() {
        let mut b = Backoff::new();
        let steps: Vec<u64> = (0..10).map(|_| b.step().as_millis() as u64).collect();
        assert_eq!(
            steps,
            [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        b.reset();
        assert_eq!(b.step(), Duration::from_millis(250));
    }

    #[test]
    fn frame_reader_reports_good_and_damaged_frames() {
        let frames = crate::frames::sample::sample_frames().unwrap();
        let mut damaged = frames[300].clone();
        let n = damaged.len();
        damaged[n - 5] ^= 1;
        let mut stream = b"noise".to_vec();
        stream.extend(&frames[100]);
        stream.extend(&damaged);
        let mut reader = FrameReader::new();
        let mut found = Vec::new();
        reader.push(&stream, &mut found);
        reader.flush(&mut found);
        assert_eq!(
            found,
            [
                BearerEvent::Frame(Bytes::from(frames[100].clone())),
                BearerEvent::Damaged(Bytes::from(damaged)),
                BearerEvent::Noise {
                    bytes: 5,
                    bad_headers: 0
                },
            ]
        );
        assert_eq!(reader.stats().noise_bytes, 5);
        assert!(!reader.has_pending());
    }
}

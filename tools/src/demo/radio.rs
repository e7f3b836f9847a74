//! A simulated HF net: agents in one process share a channel with the simulator's loss models.
//!
//! Each member's bearer hands its D_PDUs to the [`RadioNet`], which puts them on the air one
//! after another at the modem's bit rate and delivers each to every other member after the
//! modem's latency, unless the member's [`Channel`] (the same models and presets as
//! `skywave-sim`) loses it or the member is in an outage. Delays are tokio sleeps, so under a
//! paused tokio clock (as `skywave demo` runs) hours of airtime pass in moments, and everything
//! else in the agent runs exactly as it would over a serial modem.
//!
//! A radio's bearer ([`bearer`]) takes any [`Air`]: the drivers' test runs agents over the
//! reference driver's channel through it (half-duplex radios that are deaf while keyed, which
//! this net does not model; docs/drivers.md).

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use skywave_host::bearer::{Bearer, BearerEvent, FrameReader, Port, deliver};
use skywave_protocol::link::Modem;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::sim::channel::Channel;

/// One member of a net: where its frames go and whether it is in an outage.
struct Member {
    inbox: mpsc::UnboundedSender<Bytes>,
    /// From every other member to this one, in member order.
    channels: Vec<Channel>,
    down: bool,
}

struct Net {
    members: Vec<Member>,
    /// When the channel falls quiet after what is already on the air.
    busy_until: Instant,
    started: Instant,
}

/// A shared simulated channel. Cloning gives another handle on the same net.
#[derive(Clone)]
pub struct RadioNet {
    net: Arc<Mutex<Net>>,
    modem: Modem,
}

impl RadioNet {
    /// A net with no members yet, on `modem`.
    pub fn new(modem: Modem) -> Self {
        RadioNet {
            net: Arc::new(Mutex::new(Net {
                members: Vec::new(),
                busy_until: Instant::now(),
                started: Instant::now(),
            })),
            modem,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Net> {
        self.net.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a member whose incoming frames pass through `channel_from(other member)`; returns
    /// its bearer. Every member must join before traffic starts.
    pub fn join(&self, mut channel_from: impl FnMut(usize) -> Channel) -> (usize, Bearer) {
        let (inbox, frames) = mpsc::unbounded_channel();
        let mut net = self.lock();
        let index = net.members.len();
        let channels = (0..=index).map(&mut channel_from).collect();
        for m in net.members.iter_mut() {
            m.channels.push(channel_from(index));
        }
        net.members.push(Member {
            inbox,
            channels,
            down: false,
        });
        drop(net);
        (index, bearer(self.clone(), index, frames))
    }

    /// Starts or ends an outage of `member`: nothing it sends is heard, nothing reaches it.
    pub fn set_down(&self, member: usize, down: bool) {
        if let Some(m) = self.lock().members.get_mut(member) {
            m.down = down;
        }
    }
}

impl Air for RadioNet {
    /// Puts `frame` from `member` on the air after what is already there.
    fn transmit(&self, member: usize, frame: Bytes) {
        let now = Instant::now();
        let airtime = std::time::Duration::from_millis(self.modem.airtime(frame.len()).millis());
        let latency = std::time::Duration::from_millis(self.modem.interleaver.millis());
        let mut net = self.lock();
        let start = net.busy_until.max(now);
        let end = start + airtime;
        net.busy_until = end;
        let secs = |t: Instant| (t - net.started).as_secs_f64();
        let (start_s, end_s) = (secs(start), secs(end));
        let interleaver = latency.as_secs_f64();
        let sender_down = net.members.get(member).is_none_or(|m| m.down);
        for (i, m) in net.members.iter_mut().enumerate() {
            if i == member || sender_down || m.down {
                continue;
            }
            let lost = m
                .channels
                .get_mut(member)
                .is_some_and(|c| c.loses(frame.len(), start_s, end_s, interleaver));
            if lost {
                continue;
            }
            let inbox = m.inbox.clone();
            let frame = frame.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(end + latency).await;
                let _ = inbox.send(frame);
            });
        }
    }
}

/// A shared channel that radios' bearers put their frames on: [`RadioNet`] here, and the
/// drivers' test's reference channel (tools/tests/drivers.rs).
pub trait Air: Clone + Send + Sync + 'static {
    /// Puts `frame`, handed to member `member`'s bearer now, on the air; the channel sends
    /// what each other member hears to that member's inbox (the `heard` of [`bearer`]).
    fn transmit(&self, member: usize, frame: Bytes);
}

/// The bearer of member `member` of `air`: what it is handed goes to [`Air::transmit`], and
/// the frames `heard` brings come out of it as a modem's would.
pub fn bearer<A: Air>(air: A, member: usize, heard: mpsc::UnboundedReceiver<Bytes>) -> Bearer {
    Bearer::spawn(RadioPort {
        air,
        member,
        frames: Mutex::new(Some(heard)),
    })
}

/// One member's end of an [`Air`], as a bearer port.
struct RadioPort<A> {
    air: A,
    member: usize,
    /// Frames heard by this member; taken by the first (and only) open.
    frames: Mutex<Option<mpsc::UnboundedReceiver<Bytes>>>,
}

impl<A: Air> Port for RadioPort<A> {
    type Open = mpsc::UnboundedReceiver<Bytes>;

    fn describe(&self) -> String {
        format!("simulated radio member {}", self.member)
    }

    async fn open(&self) -> Result<Self::Open, String> {
        self.frames
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| "the simulated radio closed".to_owned())
    }

    async fn pump(
        &self,
        mut heard: Self::Open,
        outgoing: &mut mpsc::Receiver<Bytes>,
        events: &mpsc::Sender<BearerEvent>,
    ) -> Option<String> {
        let mut reader = FrameReader::new();
        let mut found = Vec::new();
        loop {
            tokio::select! {
                frame = heard.recv() => {
                    let frame = frame?;
                    reader.push(&frame, &mut found);
                    reader.flush(&mut found);
                    if !deliver(events, &mut found).await {
                        return None;
                    }
                }
                frame = outgoing.recv() => self.air.transmit(self.member, frame?),
            }
        }
    }
}

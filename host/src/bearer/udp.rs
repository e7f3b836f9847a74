//! D_PDUs over UDP, for software modems and lab rigs.
//!
//! Each datagram (up to 64 KiB) goes through the same sync-hunting deframer as a serial
//! stream, and is flushed, since a datagram holds whole frames: a peer may pack one D_PDU per
//! datagram or a whole transmission into one (other stacks' UDP modem adapters do), and a
//! datagram of junk is counted and dropped like line noise. Datagrams from any address other
//! than the configured peer are ignored.
//!
//! With `rate_bps` set, frames leave no faster than a modem of that bit rate would send
//! them, so a lab run over UDP takes the time it would on the air instead of hiding timing
//! bugs behind loopback speed.

use std::collections::VecDeque;
use std::net::SocketAddr;

use bytes::Bytes;
use serde::Deserialize;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Bearer, BearerEvent, FrameReader, Port, deliver};

/// Where to listen and whom to talk to.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UdpConfig {
    /// Local address to bind, e.g. `127.0.0.1:15066`.
    pub bind: SocketAddr,
    /// The peer's address (the software modem or the other node).
    pub peer: SocketAddr,
    /// Pace sending to this modem bit rate (bits per second); unpaced when absent.
    #[serde(default)]
    pub rate_bps: Option<u32>,
    /// Paced: the preamble before each transmission, in ms (the modem table's `preamble_ms`).
    #[serde(default)]
    pub preamble_ms: u32,
    /// Paced: how long after its last bit a frame reaches the far end, in ms (the modem
    /// table's `interleaver_ms`).
    #[serde(default)]
    pub latency_ms: u32,
}

/// The largest datagram accepted: the most UDP carries. A peer may pack several D_PDUs into
/// one datagram (2,108 bytes for three were seen from another stack).
const MAX_DATAGRAM: usize = 65_536;

/// Starts a bearer on the UDP socket `config` describes.
pub fn spawn(config: UdpConfig) -> Bearer {
    Bearer::spawn(config)
}

impl Port for UdpConfig {
    type Open = UdpSocket;

    fn describe(&self) -> String {
        format!("udp {} <-> {}", self.bind, self.peer)
    }

    async fn open(&self) -> Result<UdpSocket, String> {
        UdpSocket::bind(self.bind)
            .await
            .map_err(|e| format!("binding {}: {e}", self.bind))
    }

    async fn pump(
        &self,
        socket: UdpSocket,
        outgoing: &mut mpsc::Receiver<Bytes>,
        events: &mpsc::Sender<BearerEvent>,
    ) -> Option<String> {
        pump(socket, self, outgoing, events).await
    }
}

async fn pump(
    socket: UdpSocket,
    config: &UdpConfig,
    outgoing: &mut mpsc::Receiver<Bytes>,
    events: &mpsc::Sender<BearerEvent>,
) -> Option<String> {
    let mut reader = FrameReader::new();
    let mut found = Vec::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    // Paced: when the imitated modem finishes sending what it was given, and the frames held
    // until they would have reached the far end.
    let mut line_free = Instant::now();
    let mut held: VecDeque<(Instant, Bytes)> = VecDeque::new();
    loop {
        let due = held.front().map(|(at, _)| *at);
        tokio::select! {
            () = tokio::time::sleep_until(due.unwrap_or(line_free)), if due.is_some() => {
                if let Some((_, frame)) = held.pop_front()
                    && let Some(e) = send(&socket, config, &frame).await
                {
                    return Some(e);
                }
            }
            received = socket.recv_from(&mut buf) => match received {
                Ok((n, from)) if from == config.peer => {
                    reader.push(buf.get(..n).unwrap_or_default(), &mut found);
                    reader.flush(&mut found);
                    if !deliver(events, &mut found).await {
                        return None;
                    }
                }
                Ok((_, from)) => tracing::debug!(%from, "udp datagram from a stranger ignored"),
                // A peer that is not listening yet shows up as a refused send on some systems:
                // that is the peer's state, not a broken socket.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Err(e) => return Some(format!("{}: {e}", config.bind)),
            },
            frame = outgoing.recv() => match (frame, config.rate_bps) {
                (Some(frame), None) => {
                    if let Some(e) = send(&socket, config, &frame).await {
                        return Some(e);
                    }
                }
                (Some(frame), Some(rate)) => {
                    // A frame given while the line is idle opens a transmission: preamble
                    // first. Each frame arrives when its last bit has been through the
                    // interleaver, as the serial link emulator delivers it.
                    let now = Instant::now();
                    let start = if line_free <= now {
                        now + ms(config.preamble_ms)
                    } else {
                        line_free
                    };
                    line_free = start + airtime(frame.len(), rate);
                    held.push_back((line_free + ms(config.latency_ms), frame));
                }
                (None, _) => return None,
            },
        }
    }
}

/// Sends one datagram to the peer; what went wrong, if the socket is broken.
async fn send(socket: &UdpSocket, config: &UdpConfig, frame: &[u8]) -> Option<String> {
    match socket.send_to(frame, config.peer).await {
        Ok(_) => None,
        // The peer not listening yet: its state, not a broken socket.
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => None,
        Err(e) => Some(format!("sending to {}: {e}", config.peer)),
    }
}

fn ms(millis: u32) -> std::time::Duration {
    std::time::Duration::from_millis(u64::from(millis))
}

/// How long a modem at `rate` bit/s takes to send `bytes`.
fn airtime(bytes: usize, rate: u32) -> std::time::Duration {
    let bits = u64::try_from(bytes).unwrap_or(u64::MAX).saturating_mul(8);
    std::time::Duration::from_micros(bits.saturating_mul(1_000_000) / u64::from(rate.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::sample::sample_frames;

    async fn free_port() -> SocketAddr {
        let probe = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        probe.local_addr().unwrap()
    }

    #[tokio::test]
    async fn two_bearers_exchange_frames_and_drop_junk() {
        let (a_addr, b_addr) = (free_port().await, free_port().await);
        let mut a = spawn(UdpConfig {
            bind: a_addr,
            peer: b_addr,
            rate_bps: None,
            preamble_ms: 0,
            latency_ms: 0,
        });
        let mut b = spawn(UdpConfig {
            bind: b_addr,
            peer: a_addr,
            rate_bps: None,
            preamble_ms: 0,
            latency_ms: 0,
        });
        assert_eq!(a.next_event().await, Some(BearerEvent::Up));
        assert_eq!(b.next_event().await, Some(BearerEvent::Up));

        let frames = sample_frames().unwrap();
        let junk = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        junk.send_to(&frames[7], b_addr).await.unwrap();
        for frame in &frames[10..20] {
            a.send(Bytes::from(frame.clone())).await.unwrap();
        }
        for frame in &frames[10..20] {
            assert_eq!(
                b.next_event().await,
                Some(BearerEvent::Frame(Bytes::from(frame.clone())))
            );
        }
        b.send(Bytes::from_static(b"not a frame")).await.unwrap();
        b.send(Bytes::from(frames[3].clone())).await.unwrap();
        assert_eq!(
            a.next_event().await,
            Some(BearerEvent::Noise {
                bytes: 11,
                bad_headers: 0
            }),
            "the junk datagram is counted as line noise"
        );
        assert_eq!(
            a.next_event().await,
            Some(BearerEvent::Frame(Bytes::from(frames[3].clone())))
        );
    }

    #[tokio::test]
    async fn a_datagram_of_three_frames_delivers_all_three() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, peer) = (free_port().await, socket.local_addr().unwrap());
        let mut a = spawn(UdpConfig {
            bind: a_addr,
            peer,
            rate_bps: None,
            preamble_ms: 0,
            latency_ms: 0,
        });
        assert_eq!(a.next_event().await, Some(BearerEvent::Up));
        // A whole transmission in one datagram, as another stack's UDP modem adapter sends
        // it: three full-size D_PDUs, over 2,048 bytes.
        let frames = sample_frames().unwrap();
        let mut big: Vec<&Vec<u8>> = frames.iter().collect();
        big.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let three = &big[..3];
        let datagram: Vec<u8> = three.iter().flat_map(|f| f.iter().copied()).collect();
        assert!(datagram.len() > 2048, "{} bytes", datagram.len());
        socket.send_to(&datagram, a_addr).await.unwrap();
        for frame in three {
            assert_eq!(
                a.next_event().await,
                Some(BearerEvent::Frame(Bytes::from((*frame).clone())))
            );
        }
    }

    #[tokio::test]
    async fn paced_frames_leave_at_the_modem_rate() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, peer) = (free_port().await, socket.local_addr().unwrap());
        let mut a = spawn(UdpConfig {
            bind: a_addr,
            peer,
            rate_bps: Some(9600),
            preamble_ms: 0,
            latency_ms: 0,
        });
        assert_eq!(a.next_event().await, Some(BearerEvent::Up));
        let mut frames = sample_frames().unwrap();
        frames.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let sent = &frames[..8];
        for frame in sent {
            a.send(Bytes::from(frame.clone())).await.unwrap();
        }
        let mut buf = vec![0u8; MAX_DATAGRAM];
        socket.recv_from(&mut buf).await.unwrap();
        let first = std::time::Instant::now();
        for _ in 1..sent.len() {
            socket.recv_from(&mut buf).await.unwrap();
        }
        // Each frame arrives when its own airtime has passed after the one before.
        let bytes: usize = sent[1..].iter().map(Vec::len).sum();
        let expected = airtime(bytes, 9600).as_secs_f64();
        let took = first.elapsed().as_secs_f64();
        assert!(
            (took - expected).abs() <= expected * 0.1,
            "{took:.3} s for {bytes} bytes at 9600 bit/s, the modem takes {expected:.3} s"
        );
    }
}

//! One D_PDU per UDP datagram, for software modems and lab rigs.
//!
//! Each datagram is checked through the same deframer as a serial stream (and flushed, since a
//! datagram holds whole frames), so a datagram of junk is counted and dropped like line noise.
//! Datagrams from any address other than the configured peer are ignored.

use std::net::SocketAddr;

use bytes::Bytes;
use serde::Deserialize;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{Bearer, BearerEvent, FrameReader, Port, deliver};

/// Where to listen and whom to talk to.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UdpConfig {
    /// Local address to bind, e.g. `127.0.0.1:15066`.
    pub bind: SocketAddr,
    /// The peer's address (the software modem or the other node).
    pub peer: SocketAddr,
}

/// The largest datagram accepted: a D_PDU is at most 1067 bytes; anything bigger is junk.
const MAX_DATAGRAM: usize = 2048;

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
    loop {
        tokio::select! {
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
            frame = outgoing.recv() => match frame {
                Some(frame) => match socket.send_to(&frame, config.peer).await {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                    Err(e) => return Some(format!("sending to {}: {e}", config.peer)),
                },
                None => return None,
            },
        }
    }
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
        });
        let mut b = spawn(UdpConfig {
            bind: b_addr,
            peer: a_addr,
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
}

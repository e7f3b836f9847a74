//! Another 5066 node as the link: the agent binds a SAP on that node's SIS server (TCP) and
//! carries Skywave's U_PDUs through it.
//!
//! Opening the port means connecting and binding: S_BIND_REQUEST, then S_BIND_ACCEPTED (or
//! the node's S_BIND_REJECTED, reported as the reason the bearer is down, and tried again
//! with backoff like a missing modem). While bound, every framed primitive the node sends is
//! passed to the agent as one [`BearerEvent::Frame`] for the link's
//! [`SisCarrier`](crate::sis::carrier::SisCarrier), except the ones that are about the
//! connection itself: S_KEEP_ALIVE is answered here, and S_UNBIND_INDICATION ends the
//! connection (the bearer reconnects and binds again). The agent's frames are framed
//! S_UNIDATA_REQUESTs, written as they are. A keep-alive goes to the node every
//! [`KEEP_ALIVE`] so a node that drops idle clients keeps this one.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use skywave_protocol::sis::{self, Primitive, ServiceType, confirm, frame_len};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::{Bearer, BearerEvent, Port};
use crate::sis::{MAX_FRAME, encode};

/// How often an idle bearer tells the node it is alive.
pub const KEEP_ALIVE: Duration = Duration::from_secs(60);
/// How long connecting and binding may take.
const BIND_TIMEOUT: Duration = Duration::from_secs(10);

/// Which node to bind on, and the SAP to bind.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SisBearerConfig {
    /// The node's SIS server, `host:port` (5066 is the standard port).
    pub server: String,
    /// The SAP ID to bind there (Skywave's own SAP unless the node's operator gave another).
    pub sap: u8,
    /// The rank to bind with (0..=15).
    #[serde(default)]
    pub rank: u8,
}

impl SisBearerConfig {
    /// Checks the values; each error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.sap > 15 {
            return Err(format!("sap: {} is not a SAP ID (0..=15)", self.sap));
        }
        if self.rank > 15 {
            return Err(format!("rank: {} is not 0..=15", self.rank));
        }
        if self.server.is_empty() {
            return Err("server: give host:port".into());
        }
        Ok(())
    }
}

/// Starts a bearer bound on the node `config` names.
pub fn spawn(config: SisBearerConfig) -> Bearer {
    Bearer::spawn(config)
}

/// A bound connection and the bytes read past the bind.
pub struct Bound {
    stream: TcpStream,
    pending: Vec<u8>,
}

/// Takes every complete frame off the front of `buf`; an error if the stream is out of step.
fn frames(buf: &mut Vec<u8>) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        match frame_len(buf) {
            Ok(Some(len)) if len > MAX_FRAME => {
                return Err(format!("primitive of {len} bytes is over the limit"));
            }
            Ok(Some(len)) if buf.len() >= len => out.push(buf.drain(..len).collect()),
            Ok(_) => return Ok(out),
            Err(e) => return Err(format!("SIS framing: {e}")),
        }
    }
}

fn parse(frame: &[u8]) -> Option<Primitive<'_>> {
    Primitive::parse(frame.get(sis::HEADER_LEN..)?).ok()
}

impl SisBearerConfig {
    async fn connect_and_bind(&self) -> Result<Bound, String> {
        let mut stream = TcpStream::connect(&self.server)
            .await
            .map_err(|e| format!("connecting to {}: {e}", self.server))?;
        let _ = stream.set_nodelay(true);
        let bind = Primitive::BindRequest {
            sap: self.sap,
            rank: self.rank,
            service: ServiceType::arq(confirm::NODE, false),
        };
        let frame = encode(&bind).ok_or("bind request not encodable")?;
        stream
            .write_all(&frame)
            .await
            .map_err(|e| format!("{}: {e}", self.server))?;
        let mut pending = Vec::new();
        let mut chunk = vec![0u8; 4096];
        loop {
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("{}: {e}", self.server))?;
            if n == 0 {
                return Err(format!("{} closed the connection during bind", self.server));
            }
            pending.extend_from_slice(chunk.get(..n).unwrap_or_default());
            for frame in frames(&mut pending)? {
                match parse(&frame) {
                    Some(Primitive::BindAccepted { mtu, .. }) => {
                        if usize::from(mtu) < skywave_protocol::link::MAX_UPDU_LEN {
                            tracing::warn!(mtu, "the 5066 node's MTU is below Skywave's U_PDUs");
                        }
                        return Ok(Bound { stream, pending });
                    }
                    Some(Primitive::BindRejected { reason }) => {
                        return Err(format!(
                            "{} rejected the bind of SAP {} (reason {reason})",
                            self.server, self.sap
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
}

impl Port for SisBearerConfig {
    type Open = Bound;

    fn describe(&self) -> String {
        format!("sis {} sap {}", self.server, self.sap)
    }

    async fn open(&self) -> Result<Bound, String> {
        tokio::time::timeout(BIND_TIMEOUT, self.connect_and_bind())
            .await
            .map_err(|_| format!("{}: no answer to the bind", self.server))?
    }

    async fn pump(
        &self,
        bound: Bound,
        outgoing: &mut mpsc::Receiver<Bytes>,
        events: &mpsc::Sender<BearerEvent>,
    ) -> Option<String> {
        let Bound {
            stream,
            mut pending,
        } = bound;
        let (mut rd, mut wr) = stream.into_split();
        let keep_alive = encode(&Primitive::KeepAlive).unwrap_or_default();
        let mut ticker = tokio::time::interval(KEEP_ALIVE);
        ticker.tick().await;
        let mut chunk = vec![0u8; 4096];
        loop {
            let found = match frames(&mut pending) {
                Ok(found) => found,
                Err(e) => return Some(e),
            };
            for frame in found {
                match parse(&frame) {
                    Some(Primitive::KeepAlive) => {
                        if let Err(e) = wr.write_all(&keep_alive).await {
                            return Some(format!("{}: {e}", self.server));
                        }
                    }
                    Some(Primitive::UnbindIndication { reason }) => {
                        return Some(format!("{} unbound us (reason {reason})", self.server));
                    }
                    _ => {
                        let event = BearerEvent::Frame(Bytes::from(frame));
                        if events.send(event).await.is_err() {
                            return None;
                        }
                    }
                }
            }
            tokio::select! {
                read = rd.read(&mut chunk) => match read {
                    Ok(0) => return Some(format!("{} closed the connection", self.server)),
                    Ok(n) => pending.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                    Err(e) => return Some(format!("{}: {e}", self.server)),
                },
                frame = outgoing.recv() => match frame {
                    Some(frame) => {
                        if let Err(e) = wr.write_all(&frame).await {
                            return Some(format!("{}: {e}", self.server));
                        }
                    }
                    None => return None,
                },
                _ = ticker.tick() => {
                    if let Err(e) = wr.write_all(&keep_alive).await {
                        return Some(format!("{}: {e}", self.server));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skywave_protocol::sis::{SisAddress, UnidataIndication, bind_rejected, kind, unbind};
    use skywave_protocol::wire::Address;
    use tokio::net::TcpListener;

    /// Reads one framed primitive from a test node's side of the connection.
    async fn read_frame(stream: &mut TcpStream) -> Vec<u8> {
        let mut header = [0u8; sis::HEADER_LEN];
        stream.read_exact(&mut header).await.unwrap();
        let len = frame_len(&header).unwrap().unwrap();
        let mut frame = header.to_vec();
        frame.resize(len, 0);
        stream
            .read_exact(&mut frame[sis::HEADER_LEN..])
            .await
            .unwrap();
        frame
    }

    #[tokio::test]
    async fn binds_reports_refusals_answers_keep_alives_and_rebinds_after_an_unbind() {
        let node = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = node.local_addr().unwrap().to_string();
        let mut bearer = spawn(SisBearerConfig {
            server,
            sap: 13,
            rank: 2,
        });

        // First attempt: the node refuses the SAP; the bearer is down and says why.
        let (mut s, _) = node.accept().await.unwrap();
        let bind = read_frame(&mut s).await;
        assert_eq!(
            Primitive::parse(&bind[sis::HEADER_LEN..]).unwrap(),
            Primitive::BindRequest {
                sap: 13,
                rank: 2,
                service: ServiceType::arq(confirm::NODE, false),
            }
        );
        let reason = bind_rejected::SAP_IN_USE;
        s.write_all(&encode(&Primitive::BindRejected { reason }).unwrap())
            .await
            .unwrap();
        let Some(BearerEvent::Down { reason, .. }) = bearer.next_event().await else {
            panic!("no down event");
        };
        assert!(reason.contains("rejected the bind of SAP 13"), "{reason}");

        // Second attempt (after the backoff): accepted, and the link carries primitives.
        let (mut s, _) = node.accept().await.unwrap();
        read_frame(&mut s).await;
        let accepted = Primitive::BindAccepted { sap: 13, mtu: 2048 };
        s.write_all(&encode(&accepted).unwrap()).await.unwrap();
        assert_eq!(bearer.next_event().await, Some(BearerEvent::Up));
        s.write_all(&encode(&Primitive::KeepAlive).unwrap())
            .await
            .unwrap();
        let answer = read_frame(&mut s).await;
        assert_eq!(answer[sis::HEADER_LEN], kind::KEEP_ALIVE);
        let indication = encode(&Primitive::UnidataIndication {
            expedited: false,
            indication: UnidataIndication {
                priority: 1,
                dest_sap: 13,
                dest: SisAddress::node(Address::new(1).unwrap()),
                tx_mode: skywave_protocol::sis::tx_mode::ARQ,
                src_sap: 13,
                src: SisAddress::node(Address::new(2).unwrap()),
                blocks: &[],
                updu: b"inventory",
            },
        })
        .unwrap();
        s.write_all(&indication).await.unwrap();
        assert_eq!(
            bearer.next_event().await,
            Some(BearerEvent::Frame(Bytes::from(indication)))
        );
        bearer.send(Bytes::from_static(b"request")).await.unwrap();
        let mut written = [0u8; 7];
        s.read_exact(&mut written).await.unwrap();
        assert_eq!(&written, b"request");

        // The node unbinds it: down, then a fresh connection and bind.
        let reason = unbind::INACTIVITY;
        s.write_all(&encode(&Primitive::UnbindIndication { reason }).unwrap())
            .await
            .unwrap();
        let Some(BearerEvent::Down { reason, .. }) = bearer.next_event().await else {
            panic!("no down event");
        };
        assert!(reason.contains("unbound us (reason 2)"), "{reason}");
        let (mut s, _) = node.accept().await.unwrap();
        let bind = read_frame(&mut s).await;
        assert_eq!(bind[sis::HEADER_LEN], kind::BIND_REQUEST);
    }
}

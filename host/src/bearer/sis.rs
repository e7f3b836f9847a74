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

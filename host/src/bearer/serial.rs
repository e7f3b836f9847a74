//! An HF modem on a serial port.
//!
//! The modem does the waveform; the agent exchanges D_PDUs with it as bytes over the serial
//! line (tokio-serial, so the same code drives a USB adapter, a real RS-232 port or a PTY).
//! When the line has been quiet for a few dozen character times after traffic, the reader is
//! flushed: that is the end of a transmission, and a frame cut short by a fade must not hold
//! back the frames behind it.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_serial::{SerialPortBuilderExt, SerialStream};

use super::{Bearer, BearerEvent, FrameReader, Port, deliver};

/// Parity setting of a serial port.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    /// No parity bit (the usual setting for modems).
    #[default]
    None,
    /// Odd parity.
    Odd,
    /// Even parity.
    Even,
}

/// How to open the modem's serial port.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SerialConfig {
    /// The device, e.g. `/dev/ttyUSB0`.
    pub device: String,
    /// Line rate in bit/s between the laptop and the modem (not the air rate).
    pub baud: u32,
    /// Data bits: 5, 6, 7 or 8.
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    /// Parity: none, odd or even.
    #[serde(default)]
    pub parity: Parity,
    /// Stop bits: 1 or 2.
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// Hardware flow control with RTS/CTS.
    #[serde(default)]
    pub rts_cts: bool,
}

fn default_data_bits() -> u8 {
    8
}

fn default_stop_bits() -> u8 {
    1
}

impl SerialConfig {
    /// Checks the settings a serial port can take; each error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.baud == 0 {
            return Err("baud: must be above 0".into());
        }
        if !(5..=8).contains(&self.data_bits) {
            return Err(format!("data_bits: {} is not 5, 6, 7 or 8", self.data_bits));
        }
        if !(1..=2).contains(&self.stop_bits) {
            return Err(format!("stop_bits: {} is not 1 or 2", self.stop_bits));
        }
        Ok(())
    }

    /// How long the line must be quiet before the reader is flushed: 32 character times
    /// (10 bits each), at least 20 ms.
    pub fn quiet_time(&self) -> Duration {
        let char_micros = 10_000_000 / u64::from(self.baud.max(1));
        Duration::from_micros(char_micros * 32).max(Duration::from_millis(20))
    }

    fn open_port(&self) -> Result<SerialStream, String> {
        self.validate()?;
        let data_bits = match self.data_bits {
            5 => tokio_serial::DataBits::Five,
            6 => tokio_serial::DataBits::Six,
            7 => tokio_serial::DataBits::Seven,
            _ => tokio_serial::DataBits::Eight,
        };
        let parity = match self.parity {
            Parity::None => tokio_serial::Parity::None,
            Parity::Odd => tokio_serial::Parity::Odd,
            Parity::Even => tokio_serial::Parity::Even,
        };
        let stop_bits = if self.stop_bits == 2 {
            tokio_serial::StopBits::Two
        } else {
            tokio_serial::StopBits::One
        };
        let flow = if self.rts_cts {
            tokio_serial::FlowControl::Hardware
        } else {
            tokio_serial::FlowControl::None
        };
        tokio_serial::new(&self.device, self.baud)
            .data_bits(data_bits)
            .parity(parity)
            .stop_bits(stop_bits)
            .flow_control(flow)
            .open_native_async()
            .map_err(|e| format!("{}: {e}", self.device))
    }
}

/// Starts a bearer on the serial port `config` describes. It opens the port in the background,
/// so a missing modem is reported as [`BearerEvent::Down`], not as an error here.
pub fn spawn(config: SerialConfig) -> Bearer {
    Bearer::spawn(config)
}

impl Port for SerialConfig {
    type Open = SerialStream;

    fn describe(&self) -> String {
        self.device.clone()
    }

    async fn open(&self) -> Result<SerialStream, String> {
        self.open_port()
    }

    async fn pump(
        &self,
        port: SerialStream,
        outgoing: &mut mpsc::Receiver<Bytes>,
        events: &mpsc::Sender<BearerEvent>,
    ) -> Option<String> {
        pump(port, self, outgoing, events).await
    }
}

/// Moves bytes both ways until the port fails (returns why) or the agent goes (returns None).
async fn pump(
    port: SerialStream,
    config: &SerialConfig,
    outgoing: &mut mpsc::Receiver<Bytes>,
    events: &mpsc::Sender<BearerEvent>,
) -> Option<String> {
    let (mut rx, mut tx) = tokio::io::split(port);
    let mut reader = FrameReader::new();
    let mut found = Vec::new();
    let mut buf = [0u8; 1024];
    let quiet = config.quiet_time();
    let mut last_byte = Instant::now();
    loop {
        tokio::select! {
            read = rx.read(&mut buf) => match read {
                Ok(0) => return Some(format!("{}: port closed", config.device)),
                Ok(n) => {
                    last_byte = Instant::now();
                    reader.push(buf.get(..n).unwrap_or_default(), &mut found);
                    if !deliver(events, &mut found).await {
                        return None;
                    }
                }
                Err(e) => return Some(format!("{}: {e}", config.device)),
            },
            () = sleep_until(last_byte + quiet), if reader.has_pending() => {
                reader.flush(&mut found);
                if !deliver(events, &mut found).await {
                    return None;
                }
            }
            frame = outgoing.recv() => match frame {
                Some(frame) => {
                    if let Err(e) = tx.write_all(&frame).await {
                        return Some(format!("{}: {e}", config.device));
                    }
                }
                None => return None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_text: &str) -> Result<SerialConfig, String> {
        toml::from_str(toml_text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_validation() {
        let c = config("device = \"/dev/ttyUSB0\"\nbaud = 9600").unwrap();
        assert_eq!(
            (c.data_bits, c.parity, c.stop_bits, c.rts_cts),
            (8, Parity::None, 1, false)
        );
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.quiet_time(), Duration::from_micros(1041 * 32));
        let bad = SerialConfig {
            data_bits: 9,
            ..c.clone()
        };
        assert_eq!(
            bad.validate(),
            Err("data_bits: 9 is not 5, 6, 7 or 8".into())
        );
        let err = config("device = \"x\"\nbaud = 9600\nparity = \"mark\"").unwrap_err();
        assert!(err.contains("parity"), "{err}");
        let err = config("device = \"x\"\nbaud = 9600\nspeed = 1").unwrap_err();
        assert!(err.contains("speed"), "{err}");
    }

    #[tokio::test]
    async fn a_missing_device_is_reported_down_with_backoff() {
        let mut bearer = spawn(SerialConfig {
            device: "/nonexistent/tty-skywave".into(),
            ..config("device = \"\"\nbaud = 2400").unwrap()
        });
        match bearer.next_event().await {
            Some(BearerEvent::Down { reason, retry_in }) => {
                assert!(reason.contains("/nonexistent/tty-skywave"), "{reason}");
                assert_eq!(retry_in, Duration::from_millis(250));
            }
            other => panic!("expected Down, got {other:?}"),
        }
    }
}

//! `skywave send` and `skywave receive`: the operator's labelled messages, through the guard
//! of a running agent.
//!
//! `send` reads the data and the label, compacts the label on this side (a 4774 XML label
//! needs its SPIF and the policy it was imported as; a file holding the compact form in hex,
//! as `skywave label compact` prints it, is taken as it is), and hands both to the agent, whose
//! guard decides ([`Station::submit_labelled`]): its verdict, with reason and lineage, is
//! printed when the guard has given it (at once, unless the message waits for its link).
//! `receive` takes what is in the operator's inbox and returns at once: it does not wait, so
//! a script polls it (or runs it under `watch`) and every call is quick. A message leaves the
//! inbox only once it was written to `--out` and printed; `--keep` leaves every message there
//! and shows its id, and `--ack ID` removes one (docs/operator.md, "The operator's inbox").
//!
//! Exit status of `send`: 0 released (or held for its link: its decision follows in the log),
//! [`EXIT_REFUSED`] refused by the guard, 1 anything else (bad input, no agent, an agent
//! that does not guard).
//!
//! [`Station::submit_labelled`]: skywave_protocol::station::Station::submit_labelled

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use skywave_protocol::codec::Hex;
use skywave_protocol::label::compact;
use skywave_protocol::station::MAX_GUARDED_LEN;

use crate::agent::control::{self, InboxJson, SentJson, Wire, unhex};

/// `send`'s exit status when the guard refused the message.
pub const EXIT_REFUSED: u8 = 3;

/// Where a 4774 XML label's codes come from: the SPIF and the policy it was imported as.
#[derive(Clone, Copy, Debug)]
pub struct XmlLabelSource<'a> {
    /// The Open XML SPIF.
    pub spif: &'a Path,
    /// The labelling domain.
    pub domain: &'a str,
    /// The policy id the SPIF was imported as.
    pub id: u32,
}

/// The compact label in the file at `path`: a 4774 XML label (compacted under `xml`), or the
/// compact form in hex.
pub fn read_label(path: &Path, xml: Option<XmlLabelSource<'_>>) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--label {}: cannot read", path.display()))?;
    if text.trim_start().starts_with('<') {
        let Some(xml) = xml else {
            bail!(
                "--label {}: an XML label needs --spif SPIF.xml, --domain D and --policy-id N \
                 (the SPIF and the policy it was imported as), or give the compact form \
                 (`skywave label compact`)",
                path.display()
            );
        };
        let hex = crate::label::compact_hex(xml.spif, xml.domain, xml.id, path)?;
        return unhex(&hex).map_err(|e| anyhow!("{e}"));
    }
    let bytes = unhex(&text).map_err(|e| {
        anyhow!(
            "--label {}: neither a 4774 XML label nor a compact label in hex ({e})",
            path.display()
        )
    })?;
    compact::decode(&bytes)
        .map_err(|e| anyhow!("--label {}: not a compact label: {e}", path.display()))?;
    Ok(bytes)
}

/// A node address as the operator types it: `2` or `0.0.0.2`.
pub fn parse_address(text: &str) -> Result<u32, String> {
    if let Ok(value) = text.parse::<u32>() {
        return Ok(value);
    }
    let parts: Vec<&str> = text.split('.').collect();
    let octets: Option<Vec<u32>> = parts
        .iter()
        .map(|p| p.parse::<u8>().ok())
        .map(|o| o.map(u32::from))
        .collect();
    match octets.as_deref() {
        Some(&[a, b, c, d]) => Ok((a << 24) | (b << 16) | (c << 8) | d),
        _ => Err(format!("{text:?}: a node address is a number or a.b.c.d")),
    }
}

/// `skywave send`: the reply as JSON or in words, and the exit status.
pub async fn send(
    socket: &Path,
    to: u32,
    sap: Option<u8>,
    label: Vec<u8>,
    file: &Path,
    json: bool,
) -> Result<(String, u8)> {
    let data = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    if data.len() > MAX_GUARDED_LEN {
        bail!(
            "{}: {} bytes; a labelled message carries at most {MAX_GUARDED_LEN} (one U_PDU \
             less the label's envelope)",
            file.display(),
            data.len()
        );
    }
    let wire = Wire::Send {
        to,
        sap,
        label_hex: Hex(&label).to_string(),
        data_hex: Hex(&data).to_string(),
    };
    let reply = ask(socket, &wire).await?;
    let sent: SentJson = serde_json::from_value(reply["sent"].clone())
        .map_err(|e| anyhow!("the agent's reply is not a send report ({e}): {reply}"))?;
    let status = if sent.state == "refused" {
        EXIT_REFUSED
    } else {
        0
    };
    if json {
        return Ok((format!("{reply}\n"), status));
    }
    let mut out = format!(
        "{}: {} (data sha-256 {}{})\n",
        file.display(),
        sent.state,
        sent.digest,
        sent.ticket
            .map(|t| format!(", ticket {t}"))
            .unwrap_or_default()
    );
    match &sent.message {
        Some(m) => {
            for line in m.in_words(sent.decision.as_ref()) {
                writeln!(out, "  {line}")?;
            }
        }
        None => writeln!(
            out,
            "  held until its link has room: decided again then (see `skywave audit list`)"
        )?,
    }
    if let Some(index) = sent.log_index {
        writeln!(out, "  logged as decision #{index}")?;
    }
    Ok((out, status))
}

/// `skywave receive`: the operator's inbox, as JSON lines or in words, to `sink`, in batches;
/// with `out`, each released message's data is written to `out/<source>-<seq>.bin`. Unless
/// `keep`, each batch is removed from the inbox only after it was written to `out` and to
/// `sink` (so a crash, a full disk or a closed pipe leaves it there for the next call, which
/// writes the same files again), and messages are never shown twice otherwise.
pub async fn receive(
    socket: &Path,
    out: Option<&Path>,
    json: bool,
    keep: bool,
    sink: &mut dyn std::io::Write,
) -> Result<()> {
    if let Some(dir) = out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    let mut after = 0;
    let mut shown = false;
    loop {
        let reply = ask(socket, &Wire::Receive { keep: true, after }).await?;
        let messages: Vec<InboxJson> =
            serde_json::from_value(reply["received"]["messages"].clone())
                .map_err(|e| anyhow!("the agent's reply is not a receive report ({e}): {reply}"))?;
        let text = inbox_text(&messages, out, json, keep)?;
        sink.write_all(text.as_bytes())?;
        sink.flush()?;
        shown |= !messages.is_empty();
        if !keep && !messages.is_empty() {
            let ids = messages.iter().map(|m| m.id).collect();
            ask(socket, &Wire::Ack { ids }).await?;
        }
        match messages.last() {
            Some(last) if reply["received"]["remaining"].as_u64().unwrap_or(0) > 0 => {
                after = last.id;
            }
            _ => break,
        }
    }
    if !shown && !json {
        sink.write_all(b"no labelled messages waiting\n")?;
    }
    Ok(())
}

/// `skywave receive --ack ID...`: removes those inbox messages; says how many were there.
pub async fn ack(socket: &Path, ids: Vec<u64>) -> Result<String> {
    let asked = ids.len();
    let reply = ask(socket, &Wire::Ack { ids }).await?;
    let removed = reply["acked"]["removed"].as_u64().unwrap_or(0);
    Ok(format!(
        "removed {removed} of {asked} from the inbox (the others were not there)\n"
    ))
}

/// One batch of the inbox in words or as JSON lines, each released message's data written to
/// `out` first; `keep` adds each message's inbox id (what `--ack` takes).
fn inbox_text(
    messages: &[InboxJson],
    out: Option<&Path>,
    json: bool,
    keep: bool,
) -> Result<String> {
    let mut text = String::new();
    for m in messages {
        let saved = match (out, &m.data_hex) {
            (Some(dir), Some(hex)) => {
                let path = dir.join(format!("{}-{}.bin", m.message.source, m.message.seq));
                let data = unhex(hex).map_err(|e| anyhow!("data from the agent: {e}"))?;
                std::fs::write(&path, data)
                    .with_context(|| format!("{}: cannot write", path.display()))?;
                Some(path)
            }
            _ => None,
        };
        if json {
            let mut value = serde_json::to_value(m)?;
            if let Some(path) = &saved {
                value["saved"] = path.display().to_string().into();
            }
            writeln!(text, "{value}")?;
            continue;
        }
        for line in m.message.in_words(m.decision.as_ref()) {
            writeln!(text, "{line}")?;
        }
        match (&saved, &m.data_hex) {
            (Some(path), _) => writeln!(text, "  saved to {}", path.display())?,
            (None, Some(hex)) => {
                let data = unhex(hex).map_err(|e| anyhow!("data from the agent: {e}"))?;
                writeln!(
                    text,
                    "  data ({} bytes): {}",
                    data.len(),
                    String::from_utf8_lossy(&data)
                )?;
            }
            (None, None) => writeln!(text, "  no data: the guard refused it")?,
        }
        if let Some(index) = m.log_index {
            writeln!(text, "  logged as decision #{index}")?;
        }
        if keep {
            writeln!(
                text,
                "  kept in the inbox as #{} (`--ack {}` removes it)",
                m.id, m.id
            )?;
        }
    }
    Ok(text)
}

/// One request to the agent, its error reply made an error.
async fn ask(socket: &Path, wire: &Wire) -> Result<serde_json::Value> {
    let reply = control::request(socket, wire).await?;
    if let Some(message) = reply.get("error").and_then(|e| e.get("message")) {
        bail!("agent: {}", message.as_str().unwrap_or_default());
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_as_numbers_or_dotted() {
        assert_eq!(parse_address("2"), Ok(2));
        assert_eq!(parse_address("0.0.1.2"), Ok(258));
        assert!(parse_address("0.0.1").is_err());
        assert!(parse_address("0.0.1.256").is_err());
        assert!(parse_address("node-2").is_err());
    }

    #[test]
    fn a_label_file_is_xml_with_its_spif_or_compact_hex() {
        let dir = std::env::temp_dir().join(format!("skywave-labelled-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let label = skywave_protocol::policy::Label {
            domain: skywave_protocol::policy::sample::GBR,
            policy: 1,
            classification: 2,
            categories: &[],
        };
        let mut buf = [0u8; skywave_protocol::label::MAX_COMPACT_LABEL_LEN];
        let len = compact::encode(&label, &mut buf).unwrap();
        let hex = dir.join("label.hex");
        std::fs::write(&hex, format!("{}\n", Hex(&buf[..len]))).unwrap();
        assert_eq!(read_label(&hex, None).unwrap(), &buf[..len]);
        // Hex that is not a compact label, and XML without its SPIF, are refused with why.
        std::fs::write(&hex, "00ff\n").unwrap();
        let e = read_label(&hex, None).unwrap_err().to_string();
        assert!(e.contains("not a compact label"), "{e}");
        let xml = dir.join("label.xml");
        std::fs::write(&xml, "<originatorConfidentialityLabel/>").unwrap();
        let e = read_label(&xml, None).unwrap_err().to_string();
        assert!(e.contains("needs --spif"), "{e}");
        let e = read_label(&dir.join("missing.xml"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

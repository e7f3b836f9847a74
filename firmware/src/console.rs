//! The local interface on UART1: a line protocol for the equipment beside the radio.
//!
//! Requests are ASCII lines ending in `\n` (a `\r` before it is ignored), at most
//! [`MAX_LINE`] bytes. Every request gets one or more response lines, the last `ok` or
//! `error <why>`; lines starting `event ` may come at any time between responses (what the
//! node admitted or refused). docs/firmware.md is the reference:
//!
//! ```text
//! decide <domain> <classification> <audience> [<tag>:<value> ...] [policy=<id>]
//!   decision verdict=release basis=translated home=policy/GBR/1/v1/<sha256> ...
//!   ok
//! status
//!   status address=42 roots=3 uptime_ms=... stack_peak=... boot_stack_peak=...
//!   held credentials=7 policies=3 translators=2 revocations=1 bytes=1520/6144
//!   artifact <kind>/<domain>/<id>/v<version>/<sha256>        (one per artifact held)
//!   revocation <domain> seq=<n>                              (one per trusted domain)
//!   link ... / radio ... / node ... / station ...            (counters)
//!   ok
//! frames      deframer counters, as `skywave frames decode` prints them
//! help        the request list
//! send <address> <sap> <label hex> <data hex>      (the guarded image: feature `guard`)
//!   ok                                             (or `error refused <why>`; `event guard`)
//! ```
//!
//! Parsing is separate from the hardware (requests in, `core::fmt::Write` out) so the self-test
//! drives it exactly as the UART does. Nothing a line contains can panic it: unknown requests,
//! bad numbers and overlong lines are answered with `error`.

use core::fmt::{self, Write};

use heapless::Vec;
use skywave_protocol::policy::{
    ArtifactRef, Basis, CategoryValue, Decision, DenyReason, Domain, MAX_LABEL_CATEGORIES, Verdict,
};

/// The longest request line.
pub const MAX_LINE: usize = 160;

/// Why a request was not understood.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RequestError {
    /// The line was longer than [`MAX_LINE`]; it was discarded whole.
    TooLong,
    /// The line is not valid ASCII text.
    NotText,
    /// The first word is no request this console knows.
    Unknown,
    /// A domain is not three letters.
    BadDomain,
    /// A number (classification, category, policy id) does not parse or is out of range.
    BadNumber,
    /// More than [`MAX_LABEL_CATEGORIES`] category values.
    TooManyCategories,
    /// A required field is missing.
    Missing,
    /// A `send` request's label or data is not hex, or longer than it may be.
    #[cfg(feature = "guard")]
    BadHex,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestError::TooLong => "line too long",
            RequestError::NotText => "not ASCII text",
            RequestError::Unknown => "unknown request (try help)",
            RequestError::BadDomain => "a domain is three letters, like GBR",
            RequestError::BadNumber => "bad number",
            RequestError::TooManyCategories => "too many category values",
            // The request list (`help`) has the usage: flash is short.
            RequestError::Missing => "missing field (try help)",
            #[cfg(feature = "guard")]
            RequestError::BadHex => "bad hex",
        })
    }
}

/// A release question: may data with this label go to this audience?
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DecideRequest {
    /// The labelling domain.
    pub domain: Domain,
    /// The policy id within that domain (1 unless `policy=` says otherwise).
    pub policy: u32,
    /// The classification code.
    pub classification: u8,
    /// The category values.
    pub categories: Vec<CategoryValue, MAX_LABEL_CATEGORIES>,
    /// The audience domain.
    pub audience: Domain,
}

/// Labelled data for the guard to send (the guarded image only).
#[cfg(feature = "guard")]
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SendRequest {
    /// The destination node.
    pub dest: u32,
    /// The destination client's SAP (also ours: the guarded SAP is the same at both ends).
    pub sap: u8,
    /// The compact label.
    pub label: Vec<u8, { skywave_protocol::label::MAX_COMPACT_LABEL_LEN }>,
    /// The data.
    pub data: Vec<u8, { crate::adjunct::GUARDED_LEN }>,
}

/// A parsed request line.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Request {
    /// `decide ...`
    Decide(DecideRequest),
    /// `status`
    Status,
    /// `frames`
    Frames,
    /// `help`
    Help,
    /// `send ...` (the guarded image only)
    #[cfg(feature = "guard")]
    Send(SendRequest),
    /// An empty line: no answer.
    Empty,
}

/// Parses one request line (without its line end).
pub fn parse(line: &[u8]) -> Result<Request, RequestError> {
    let text = core::str::from_utf8(line).map_err(|_| RequestError::NotText)?;
    if !text.is_ascii() {
        return Err(RequestError::NotText);
    }
    let mut words = text.split_ascii_whitespace();
    let Some(first) = words.next() else {
        return Ok(Request::Empty);
    };
    match first {
        "decide" => parse_decide(words).map(Request::Decide),
        "status" => Ok(Request::Status),
        "frames" => Ok(Request::Frames),
        "help" => Ok(Request::Help),
        #[cfg(feature = "guard")]
        "send" => parse_send(words).map(Request::Send),
        _ => Err(RequestError::Unknown),
    }
}

fn domain(word: Option<&str>) -> Result<Domain, RequestError> {
    let word = word.ok_or(RequestError::Missing)?;
    Domain::new(word).ok_or(RequestError::BadDomain)
}

fn parse_decide<'a>(
    mut words: impl Iterator<Item = &'a str>,
) -> Result<DecideRequest, RequestError> {
    let home = domain(words.next())?;
    let classification = words
        .next()
        .ok_or(RequestError::Missing)?
        .parse::<u8>()
        .map_err(|_| RequestError::BadNumber)?;
    let audience = domain(words.next())?;
    let mut request = DecideRequest {
        domain: home,
        policy: 1,
        classification,
        categories: Vec::new(),
        audience,
    };
    for word in words {
        if let Some(id) = word.strip_prefix("policy=") {
            request.policy = id.parse().map_err(|_| RequestError::BadNumber)?;
        } else {
            let (tag, value) = word.split_once(':').ok_or(RequestError::BadNumber)?;
            let value = CategoryValue {
                tag: tag.parse().map_err(|_| RequestError::BadNumber)?,
                value: value.parse().map_err(|_| RequestError::BadNumber)?,
            };
            request
                .categories
                .push(value)
                .map_err(|_| RequestError::TooManyCategories)?;
        }
    }
    Ok(request)
}

#[cfg(feature = "guard")]
fn parse_send<'a>(mut words: impl Iterator<Item = &'a str>) -> Result<SendRequest, RequestError> {
    let mut next = || words.next().ok_or(RequestError::Missing);
    let dest = next()?.parse().map_err(|_| RequestError::BadNumber)?;
    let sap = next()?.parse().map_err(|_| RequestError::BadNumber)?;
    Ok(SendRequest {
        dest,
        sap,
        label: hex(next()?)?,
        data: hex(next()?)?,
    })
}

/// Decodes hex (two digits a byte, either case) into at most `N` bytes.
#[cfg(feature = "guard")]
fn hex<const N: usize>(text: &str) -> Result<Vec<u8, N>, RequestError> {
    let mut out = Vec::new();
    for byte in skywave_protocol::codec::unhex(text.as_bytes()) {
        let byte = byte.map_err(|_| RequestError::BadHex)?;
        out.push(byte).map_err(|_| RequestError::BadHex)?;
    }
    Ok(out)
}

/// Collects bytes into lines of at most [`MAX_LINE`] bytes.
pub struct LineBuffer {
    buf: Vec<u8, MAX_LINE>,
    /// The current line overflowed: drop bytes until its end, then report it.
    overflowed: bool,
    /// The buffer holds a line already handed out: start afresh with the next byte.
    done: bool,
}

impl Default for LineBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl LineBuffer {
    /// Empty.
    pub const fn new() -> Self {
        LineBuffer {
            buf: Vec::new(),
            overflowed: false,
            done: false,
        }
    }

    /// Takes one byte; at a line end, returns the line (or [`RequestError::TooLong`]).
    pub fn push(&mut self, byte: u8) -> Option<Result<&[u8], RequestError>> {
        if core::mem::replace(&mut self.done, false) {
            self.buf.clear();
        }
        match byte {
            b'\n' => {
                self.done = true;
                if core::mem::replace(&mut self.overflowed, false) {
                    return Some(Err(RequestError::TooLong));
                }
                Some(Ok(self.buf.as_slice()))
            }
            b'\r' => None,
            _ => {
                if self.overflowed || self.buf.push(byte).is_err() {
                    self.overflowed = true;
                }
                None
            }
        }
    }
}

/// The `help` line of the guarded image's `send` request (nothing in other images).
#[cfg(feature = "guard")]
macro_rules! help_send {
    () => {
        "  send <address> <sap> <label hex> <data hex>\n"
    };
}
#[cfg(not(feature = "guard"))]
macro_rules! help_send {
    () => {
        ""
    };
}

/// Writes an artifact reference as `kind/domain/id/vversion/sha256`.
pub fn write_ref(out: &mut impl Write, r: &ArtifactRef) -> fmt::Result {
    write!(
        out,
        "{}/{}/{}/v{}/{}",
        r.kind.name(),
        r.domain,
        r.id,
        r.version,
        r.digest
    )
}

/// The stable keyword of a basis (the host's `skywave decide --json` uses the same).
pub const fn basis_keyword(basis: &Basis) -> &'static str {
    match basis {
        Basis::SameDomain => "same_domain",
        Basis::Translated => "translated",
        Basis::HomeOnly => "home_only",
        Basis::HomeOnlyTranslatorRevoked(_) => "home_only_translator_revoked",
    }
}

/// Writes a deny reason as one word (`restricted:1:1` for reasons naming a category value).
fn write_reason(out: &mut impl Write, reason: &DenyReason) -> fmt::Result {
    let (word, value) = match reason {
        DenyReason::NoHomePolicy => ("no_home_policy", None),
        DenyReason::UnknownClassification => ("unknown_classification", None),
        DenyReason::UnknownCategory(v) => ("unknown_category", Some(v)),
        DenyReason::TooManyCategories => ("too_many_categories", None),
        DenyReason::NoRule => ("no_rule", None),
        DenyReason::Restricted(v) => ("restricted", Some(v)),
        DenyReason::NotPermitted => ("not_permitted", None),
        DenyReason::UnmappedClassification => ("unmapped_classification", None),
        DenyReason::Untranslatable(v) => ("untranslatable", Some(v)),
        DenyReason::InvalidLabel(_) => ("invalid_label", None),
    };
    out.write_str(word)?;
    match value {
        Some(v) => write!(out, ":{}:{}", v.tag, v.value),
        None => Ok(()),
    }
}

/// Writes a decision as one `decision ...` line of `key=value` words: the outcome and the
/// lineage a reviewer needs to re-verify it (full SHA-256 digests, revocation sequences).
pub fn write_decision(out: &mut impl Write, d: &Decision) -> fmt::Result {
    out.write_str("decision verdict=")?;
    match &d.verdict {
        Verdict::Release => out.write_str("release")?,
        Verdict::Deny(reason) => {
            out.write_str("deny reason=")?;
            write_reason(out, reason)?;
        }
    }
    write!(out, " basis={}", basis_keyword(&d.basis))?;
    let refs = [
        ("home", d.lineage.home.as_ref()),
        ("translator", d.lineage.translator.as_ref()),
        ("target", d.lineage.target.as_ref()),
    ];
    for (key, r) in refs {
        if let Some(r) = r {
            write!(out, " {key}=")?;
            write_ref(out, r)?;
        }
    }
    if let Basis::HomeOnlyTranslatorRevoked(r) = &d.basis {
        out.write_str(" revoked=")?;
        write_ref(out, r)?;
    }
    if let Some(gap) = d.lineage.spiral_gap {
        write!(out, " spiral={}->{}", gap.from, gap.to)?;
    }
    out.write_str(" revocations=")?;
    for (i, (domain, seq)) in d.lineage.revocation_seqs.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        write!(out, "{sep}{domain}:{seq}")?;
    }
    match d.lineage.time {
        Some(t) => writeln!(out, " time={}", t.0),
        None => writeln!(out, " time=none"),
    }
}

/// The `help` text (with `send` in the guarded image).
pub const HELP: &str = concat!(
    "requests:
  decide <domain> <classification> <audience> [<tag>:<value> ...] [policy=<id>]
  status
  frames
  help
",
    help_send!()
);

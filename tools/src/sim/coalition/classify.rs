//! Frame classes: what each D_PDU on the air carried (which node message, or link traffic), so
//! the report can split airtime by kind.

use super::{Body, Dpdu, Frame, HashMap, Kind, kind_name, tag};

/// Tracks, per radio, which C_PDU each ARQ sequence number and non-ARQ C_PDU ID carries, so
/// every D_PDU is charged to what its C_PDU carried.
#[derive(Default)]
pub(crate) struct Classifier {
    arq: HashMap<(usize, bool, u8), &'static str>,
    non_arq: HashMap<(usize, bool, u16), &'static str>,
}

/// What a C_PDU carries, from its first bytes.
fn class_of_cpdu(start: &[u8]) -> &'static str {
    let Some(&first) = start.first() else {
        return "link";
    };
    if first >> 4 != 0 {
        return "link"; // CAS-1
    }
    // DATA S_PDU: type|priority, SAPs, flags (0x40: 3 bytes of TTD follow), then the U_PDU.
    let Some(&spdu) = start.get(1) else {
        return "link";
    };
    if spdu >> 4 != 0 {
        return "link"; // delivery confirm or fail
    }
    let ttd = start.get(3).is_some_and(|f| f & 0x40 != 0);
    let updu = start.get(if ttd { 7 } else { 4 }..).unwrap_or_default();
    match updu {
        [tag::ARTIFACT, _, kind, ..] => Kind::from_tag(*kind).map_or("other", kind_name),
        [tag::SUMMARY, ..] => "summary",
        [tag::DETAIL, ..] => "detail",
        [tag::WANT, ..] => "want",
        [tag::RANGES, ..] => "ranges",
        _ => "other",
    }
}

impl Classifier {
    /// What `frame`, sent by `radio`, carried: a node message's kind, or "link" traffic.
    pub(crate) fn classify(&mut self, radio: usize, frame: &[u8]) -> &'static str {
        let Ok(f) = Frame::new_checked(frame) else {
            return "other";
        };
        let Ok(d) = Dpdu::parse(&f) else {
            return "other";
        };
        match d.body {
            Body::DataOnly(a) | Body::DataAck(a, _) => {
                self.arq_segment(radio, false, a.tx_seq, a.flags.cpdu_start, a.segment)
            }
            Body::ExpeditedDataOnly(e) => {
                self.arq_segment(radio, true, e.tx_seq, e.cpdu_start, e.segment)
            }
            Body::NonArqData(n) => {
                self.non_arq_segment(radio, false, n.cpdu_id, n.segment_offset, n.segment)
            }
            Body::ExpeditedNonArqData(n) => {
                self.non_arq_segment(radio, true, n.cpdu_id, n.segment_offset, n.segment)
            }
            _ => "link",
        }
    }

    fn arq_segment(
        &mut self,
        radio: usize,
        x: bool,
        seq: u8,
        start: bool,
        seg: &[u8],
    ) -> &'static str {
        let class = if start {
            class_of_cpdu(seg)
        } else if let Some(c) = self.arq.get(&(radio, x, seq)) {
            c
        } else {
            self.arq
                .get(&(radio, x, seq.wrapping_sub(1)))
                .copied()
                .unwrap_or("other")
        };
        if seg.is_empty() {
            return "link"; // a DROP frame
        }
        self.arq.insert((radio, x, seq), class);
        class
    }

    fn non_arq_segment(
        &mut self,
        radio: usize,
        x: bool,
        id: u16,
        offset: u16,
        seg: &[u8],
    ) -> &'static str {
        if offset == 0 {
            let class = class_of_cpdu(seg);
            self.non_arq.insert((radio, x, id), class);
            class
        } else {
            self.non_arq
                .get(&(radio, x, id))
                .copied()
                .unwrap_or("other")
        }
    }
}

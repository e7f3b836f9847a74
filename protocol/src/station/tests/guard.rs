//! The guard through stations on the air: labelled data released at both ends with lineage, a
//! forged, tampered or replayed binding refused by the receiver, and a translator revocation
//! that stops the very next message at whichever end holds it.

use std::vec::Vec;

use p256::ecdsa::SigningKey;

use super::*;
use crate::label::binding::{self, BindingRefusal, Endpoints, MAX_BINDING_LEN};
use crate::policy::sample::{self, GBR, USA};
use crate::policy::{Artifact, Basis, Revoked};

/// The guarded SAP.
const SAP: u8 = 3;
/// Station 0's node to station 1's, guarded SAP to guarded SAP.
const GBR_TO_USA: Endpoints = Endpoints {
    source: 1,
    source_sap: SAP,
    destination: 2,
    destination_sap: SAP,
};

/// GBR's node key (station 0, address 1) and USA's (station 1, address 2).
fn node_key(station: usize) -> SigningKey {
    sample::node_key(station as u32 + 1)
}

/// Stations 0 (GBR) and 1 (USA) on one channel, holding the coalition and both node
/// credentials, guarding [`SAP`]; station 2, when asked for, is on the channel unguarded and
/// uncredentialed (a forger).
fn guarded(c: &Coalition, forger: bool) -> Net {
    let members: &[usize] = if forger { &[0, 1, 2] } else { &[0, 1] };
    let mut net = Net::new(
        c,
        members.len() as u32,
        &[members],
        &[0, 1],
        Fanout::DEFAULT,
    );
    for s in 0..2 {
        for cred in c.node_credentials() {
            net.publish(s, &cred);
        }
        let config = GuardConfig {
            address: addr(s as u32 + 1),
            key: node_key(s),
            next_seq: 1,
        };
        net.stations[s].enable_guard(config, &[SAP]);
    }
    net.run(minutes(5), |_, _| false);
    for s in 0..net.stations.len() {
        net.take_reports(s);
    }
    net
}

/// The GBR-USA translator (id 1, version 1) revoked by GBR, with revocation `seq`.
fn translator_revoked(c: &Coalition, seq: u32) -> Vec<u8> {
    let entry = Revoked::Translator { id: 1, version: 1 };
    let revocation = sample::revocation(GBR, &c.gbr_signer, seq, &[entry]);
    sample::sign(&c.gbr_signer, &Artifact::Revocation(revocation))
}

impl Net {
    /// Station `s`'s guard reports so far, taken.
    fn take_reports(&mut self, s: usize) -> Vec<GuardReport> {
        self.take_events(s);
        std::mem::take(&mut self.reports[s])
    }

    /// Runs for `span`, collecting every guard report per station.
    fn run_guarded(&mut self, span: Duration) -> Vec<Vec<GuardReport>> {
        self.run(span, |_, _| false);
        (0..self.stations.len())
            .map(|s| self.take_reports(s))
            .collect()
    }

    fn submit_labelled(&mut self, s: usize, data: &[u8]) -> Result<Ticket, StationError> {
        let now = self.now;
        let message = on_sap(2, data, now);
        self.stations[s].submit_labelled(now, LinkId(0), &message, &sample::telic_label())
    }
}

/// A client's U_PDU from and to [`SAP`] of node `dest`, ARQ, for 10 minutes from `now`.
fn on_sap(dest: u32, data: &[u8], now: Instant) -> LinkMessage<'_> {
    LinkMessage {
        header: SpduHeader {
            priority: 5,
            src_sap: SAP,
            dest_sap: SAP,
        },
        ..client(dest, data, now + minutes(10))
    }
}

/// The revocation sequence number a decision's lineage records for GBR.
fn gbr_seq(report: &GuardReport) -> Option<u32> {
    let decision = report.decision.as_ref()?;
    let seqs = &decision.lineage.revocation_seqs;
    seqs.iter().find(|(d, _)| *d == GBR).map(|(_, s)| *s)
}

fn received(net: &Net, s: usize) -> Vec<&String> {
    net.log[s]
        .iter()
        .filter(|e| e.starts_with("received"))
        .collect()
}

#[test]
fn labelled_data_is_released_at_both_ends_with_its_lineage() {
    let c = Coalition::new();
    let mut net = guarded(&c, false);
    let ticket = net.submit_labelled(0, b"first light").unwrap();
    let reports = net.run_guarded(minutes(2));
    let [sent] = &reports[0][..] else {
        panic!("{:?}", reports[0])
    };
    let [got] = &reports[1][..] else {
        panic!("{:?}", reports[1])
    };
    assert_eq!(
        (sent.end, sent.ticket, sent.seq),
        (End::Sender, Some(ticket), 1)
    );
    assert_eq!((got.end, got.seq), (End::Receiver, 1));
    for r in [sent, got] {
        assert!(r.released(), "{r:?}");
        assert_eq!(r.digest, Digest::of(b"first light"));
        assert_eq!(&r.label[..], &sample::telic_label()[..]);
        let decision = r.decision.as_ref().unwrap();
        assert_eq!(
            (decision.audience, decision.basis),
            (USA, Basis::Translated)
        );
        assert_eq!(decision.lineage.home.unwrap().version, 1);
        assert_eq!(decision.lineage.translator.unwrap().id, 1);
        assert_eq!(gbr_seq(r), Some(0));
    }
    assert!(sent.message.is_some());
    assert_eq!(
        received(&net, 1),
        ["received link=0 from=1 sap=3>3 priority=5 Arq first light"]
    );
    assert_eq!(net.stations[0].next_binding_seq(), 2);
}

/// An envelope from station 2 (unguarded, no node credential) carrying a binding sealed for
/// `ends` with `key`, and `data`.
fn envelope(key: &SigningKey, seq: u64, ends: &Endpoints, sealed: &[u8], data: &[u8]) -> Vec<u8> {
    let mut binding = [0u8; MAX_BINDING_LEN];
    let len = binding::seal(key, seq, &sample::telic_label(), sealed, ends, &mut binding).unwrap();
    let mut out = std::vec![len as u8];
    out.extend_from_slice(&binding[..len]);
    out.extend_from_slice(data);
    out
}

#[test]
fn bindings_from_an_uncredentialed_node_or_malformed_are_refused() {
    let c = Coalition::new();
    let mut net = guarded(&c, true);
    let as_gbr = GBR_TO_USA;
    let as_forger = Endpoints {
        source: 3,
        ..as_gbr
    };
    let good = envelope(&node_key(0), 7, &as_forger, b"orders", b"orders");
    let cases: [(Vec<u8>, BindingRefusal); 4] = [
        // Sealed with GBR's key but sent from node 3: no node credential names it.
        (good.clone(), BindingRefusal::UnknownOrigin { address: 3 }),
        // Data changed after sealing.
        (
            envelope(&node_key(0), 8, &as_forger, b"orders", b"ordures"),
            BindingRefusal::DataMismatch,
        ),
        // Not an envelope at all.
        (b"\xffplain".to_vec(), BindingRefusal::Malformed),
        // Sealed for node 1 and then sent from node 3: its source is not the signed one.
        (
            envelope(&node_key(0), 9, &as_gbr, b"orders", b"orders"),
            BindingRefusal::UnknownOrigin { address: 3 },
        ),
    ];
    for (bytes, _) in &cases {
        let now = net.now;
        let message = on_sap(2, bytes, now);
        net.stations[2].submit(now, LinkId(0), &message).unwrap();
        let reports = net.run_guarded(minutes(1));
        let [r] = &reports[1][..] else {
            panic!("{:?}", reports[1])
        };
        assert_eq!((r.end, r.ends.source), (End::Receiver, 3));
        let expected = cases.iter().find(|(b, _)| b == bytes).unwrap().1;
        assert_eq!(r.refusal, Some(GuardRefusal::Binding(expected)), "{r:?}");
    }
    assert!(received(&net, 1).is_empty(), "{:?}", net.log[1]);
    assert_eq!(net.stations[1].stats().guard_refused, 4);
}

#[test]
fn a_replayed_tampered_or_forged_message_from_a_credentialed_node_is_refused() {
    let c = Coalition::new();
    let mut net = guarded(&c, false);
    net.submit_labelled(0, b"once").unwrap();
    net.run_guarded(minutes(2));
    // Station 0 stops guarding SAP 3, so what its driver submits there goes out unchecked:
    // the same envelope again, one with other data, one sealed with another key.
    let config = GuardConfig {
        address: addr(1),
        key: node_key(0),
        next_seq: net.stations[0].next_binding_seq(),
    };
    net.stations[0].enable_guard(config, &[]);
    let ends = GBR_TO_USA;
    let cases = [
        (
            envelope(&node_key(0), 1, &ends, b"once", b"once"),
            BindingRefusal::Replayed { address: 1, seq: 1 },
        ),
        (
            envelope(&node_key(0), 2, &ends, b"once", b"twice"),
            BindingRefusal::DataMismatch,
        ),
        (
            envelope(&sample::key(99), 3, &ends, b"once", b"once"),
            BindingRefusal::BadSignature,
        ),
    ];
    for (bytes, refusal) in &cases {
        let now = net.now;
        let message = on_sap(2, bytes, now);
        net.stations[0].submit(now, LinkId(0), &message).unwrap();
        let reports = net.run_guarded(minutes(1));
        let [r] = &reports[1][..] else {
            panic!("{:?}", reports[1])
        };
        assert_eq!(r.refusal, Some(GuardRefusal::Binding(*refusal)), "{r:?}");
        assert!(r.decision.is_none());
    }
    assert_eq!(received(&net, 1).len(), 1);
}

/// A board's guard (the adjunct's sizes: one held message of up to 64 bytes, one report, 4
/// origins): what its tables cannot hold is refused by name at submit, never dropped.
#[test]
fn a_board_sized_guard_refuses_what_its_tables_cannot_hold() {
    let c = Coalition::new();
    let mut board: Station<TestNode, SmallLink, 2, 1, 64, 1, 4> = station(&c, Fanout::DEFAULT);
    for artifact in c.artifacts().iter().chain(&c.node_credentials()) {
        board.publish(Instant::ZERO, Some(NOW), artifact).unwrap();
    }
    // The link stays down: a released message is held.
    let id = board.add_link(link(1), &[addr(2)]).unwrap();
    let config = GuardConfig {
        address: addr(1),
        key: node_key(0),
        next_seq: 1,
    };
    board.enable_guard(config, &[SAP]);
    let now = Instant::from_millis(1000);
    let label = sample::telic_label();
    let too_long = board.submit_labelled(now, id, &on_sap(2, &[7; 65], now), &label);
    assert_eq!(
        too_long,
        Err(StationError::Submit(crate::link::SubmitError::TooLarge))
    );
    assert!(
        board
            .submit_labelled(now, id, &on_sap(2, &[7; 64], now), &label)
            .is_ok()
    );
    let second = board.submit_labelled(now, id, &on_sap(2, b"second", now), &label);
    assert_eq!(second, Err(StationError::NoRoom(id)));
}

#[test]
fn plain_data_for_a_guarded_sap_is_refused_at_submit() {
    let c = Coalition::new();
    let mut net = guarded(&c, false);
    let now = net.now;
    let message = on_sap(2, b"unlabelled", now);
    let refused = net.stations[0].submit(now, LinkId(0), &message);
    assert_eq!(refused, Err(StationError::Unlabelled));
}

#[test]
fn a_translator_revocation_stops_the_very_next_message_at_both_ends_with_lineage() {
    let c = Coalition::new();
    let mut net = guarded(&c, false);
    for i in 0..3u8 {
        net.submit_labelled(0, &[b'a' + i]).unwrap();
        let reports = net.run_guarded(minutes(1));
        assert!(reports[0].iter().chain(&reports[1]).all(|r| r.released()));
    }
    // GBR revokes the translator; USA's station hears of it first (it reached it by another
    // path). The next message: GBR's station still releases it, USA's refuses it.
    let revocation = translator_revoked(&c, 1);
    net.publish(1, &revocation);
    net.submit_labelled(0, b"next").unwrap();
    let reports = net.run_guarded(minutes(2));
    let sent = reports[0].iter().find(|r| r.digest == Digest::of(b"next"));
    let got = reports[1].iter().find(|r| r.digest == Digest::of(b"next"));
    let (sent, got) = (sent.unwrap(), got.unwrap());
    assert!(sent.released(), "{sent:?}");
    assert_eq!(gbr_seq(sent), Some(0));
    let revoked = |r: &GuardReport| match r.refusal {
        Some(GuardRefusal::TranslatorRevoked(t)) => t.id == 1 && t.domain == GBR,
        _ => false,
    };
    assert!(revoked(got), "{got:?}");
    assert_eq!(gbr_seq(got), Some(1));
    assert_eq!(
        got.decision.as_ref().unwrap().basis,
        Basis::HomeOnlyTranslatorRevoked(match got.refusal {
            Some(GuardRefusal::TranslatorRevoked(t)) => t,
            _ => unreachable!(),
        })
    );
    // By now the revocation has crossed to GBR's station: the next message never leaves it.
    let refused = net.submit_labelled(0, b"after").unwrap_err();
    assert!(matches!(
        refused,
        StationError::Guard(GuardRefusal::TranslatorRevoked(_))
    ));
    let reports = net.run_guarded(minutes(1));
    let [r] = &reports[0][..] else {
        panic!("{:?}", reports[0])
    };
    assert!(
        revoked(r) && gbr_seq(r) == Some(1) && r.message.is_none(),
        "{r:?}"
    );
    assert!(reports[1].is_empty());
    assert_eq!(received(&net, 1).len(), 3);
}

#[test]
fn a_held_message_is_refused_as_soon_as_the_revocation_is_admitted() {
    let c = Coalition::new();
    let mut net = guarded(&c, false);
    // The first goes to the link; the second waits for it to settle.
    let first = net.submit_labelled(0, b"one").unwrap();
    let second = net.submit_labelled(0, b"two").unwrap();
    let revocation = translator_revoked(&c, 1);
    let now = net.now;
    net.stations[0]
        .publish(now, Some(NOW), &revocation)
        .unwrap();
    let reports = net.take_reports(0);
    let tickets: Vec<(Option<Ticket>, bool)> =
        reports.iter().map(|r| (r.ticket, r.released())).collect();
    assert_eq!(tickets, [(Some(first), true), (Some(second), false)]);
    assert!(matches!(
        reports[1].refusal,
        Some(GuardRefusal::TranslatorRevoked(_))
    ));
    assert_eq!(gbr_seq(&reports[1]), Some(1));
}

#[test]
fn the_guard_refuses_what_it_cannot_decide_for() {
    let c = Coalition::new();
    let mut net = guarded(&c, false);
    let now = net.now;
    let to_unknown = on_sap(9, b"x", now);
    let refused =
        net.stations[0].submit_labelled(now, LinkId(0), &to_unknown, &sample::telic_label());
    assert_eq!(
        refused,
        Err(StationError::Guard(GuardRefusal::UnknownDestination {
            address: 9
        }))
    );
    let broadcast = LinkMessage {
        dest: Address::BROADCAST,
        ..to_unknown
    };
    let refused =
        net.stations[0].submit_labelled(now, LinkId(0), &broadcast, &sample::telic_label());
    assert_eq!(refused, Err(StationError::GuardBroadcast));
    let reports = net.take_reports(0);
    assert_eq!(reports.len(), 1);
    assert!(reports[0].decision.is_none());
}

#[test]
fn a_client_confirmation_the_receiving_guard_refuses_comes_back_as_delivery_fail() {
    let c = Coalition::new();
    let mut net = guarded(&c, false);
    let confirmed = |net: &mut Net, data: &[u8]| {
        let now = net.now;
        let message = LinkMessage {
            confirm: true,
            ..on_sap(2, data, now)
        };
        let label = sample::telic_label();
        net.stations[0].submit_labelled(now, LinkId(0), &message, &label)
    };
    let answers = |net: &Net| -> Vec<String> {
        let answer = |e: &&String| e.starts_with("Confirmed") || e.starts_with("NotDelivered");
        net.log[0].iter().filter(answer).cloned().collect()
    };
    // Released at both ends: the receiving station confirms once its guard released it.
    confirmed(&mut net, b"cleared").unwrap();
    let reports = net.run_guarded(minutes(2));
    assert!(reports[1].iter().all(|r| r.released()), "{reports:?}");
    let [confirm] = &answers(&net)[..] else {
        panic!("{:?}", net.log[0])
    };
    assert!(confirm.starts_with("Confirmed"), "{confirm}");
    // USA's station holds GBR's revocation of the translator, GBR's does not yet: GBR's
    // releases the next message, USA's refuses it, and its link answers DATA DELIVERY FAIL,
    // never a confirm.
    net.publish(1, &translator_revoked(&c, 1));
    confirmed(&mut net, b"revoked").unwrap();
    let reports = net.run_guarded(minutes(2));
    let sent = reports[0]
        .iter()
        .find(|r| r.digest == Digest::of(b"revoked"));
    let got = reports[1]
        .iter()
        .find(|r| r.digest == Digest::of(b"revoked"));
    assert!(sent.unwrap().released(), "{reports:?}");
    assert!(
        matches!(
            got.unwrap().refusal,
            Some(GuardRefusal::TranslatorRevoked(_))
        ),
        "{reports:?}"
    );
    let answers = answers(&net);
    let [_, refused] = &answers[..] else {
        panic!("one answer each: {answers:?}")
    };
    let reason = link::pdu::fail::REFUSED;
    assert!(
        refused.starts_with("NotDelivered") && refused.contains(&std::format!("reason: {reason},")),
        "{refused}"
    );
    assert_eq!(received(&net, 1).len(), 1, "{:?}", net.log[1]);
}

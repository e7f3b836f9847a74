//! The compact form, the binding's refusals (tamper, replay, mismatch) and node identities.

use std::boxed::Box;
use std::vec::Vec;

use p256::ecdsa::SigningKey;

use crate::policy::sample::{self, Coalition, GBR, NOW, USA};
use crate::policy::{Artifact, CategoryValue, Credential, Label, Revoked, Scope, TrustStore};

use super::binding::{self, BindingRefusal, Endpoints, MAX_BINDING_LEN, ReplayWindow};
use super::compact::{self, LabelError, MAX_COMPACT_LABEL_LEN};

const ENDS: Endpoints = Endpoints {
    source: 0x101,
    source_sap: 17,
    destination: 0x202,
    destination_sap: 17,
};

fn value(tag: u8, value: u16) -> CategoryValue {
    CategoryValue { tag, value }
}

fn label_bytes() -> Vec<u8> {
    let values = [value(2, 11), value(1, 1), value(3, 20)];
    let label = Label {
        domain: GBR,
        policy: 1,
        classification: 2,
        categories: &values,
    };
    let mut out = [0u8; MAX_COMPACT_LABEL_LEN];
    let len = compact::encode(&label, &mut out).unwrap();
    out[..len].to_vec()
}

/// The sample coalition, plus node credentials: GBR's node 0x101 and USA's node 0x202.
fn store_with_nodes() -> (Coalition, Box<TrustStore>, SigningKey, SigningKey) {
    let c = Coalition::new();
    let mut store = Box::new(c.store().unwrap());
    let gbr_node = sample::key(70);
    let usa_node = sample::key(71);
    for (root, node, domain, address) in [
        (&c.gbr_root, &gbr_node, GBR, ENDS.source),
        (&c.usa_root, &usa_node, USA, ENDS.destination),
    ] {
        let cred = Credential {
            node: Some(address),
            ..sample::credential(root, node, domain, Scope::NODE, 0)
        };
        store
            .admit(&sample::sign(root, &Artifact::Credential(cred)), Some(NOW))
            .unwrap();
    }
    (c, store, gbr_node, usa_node)
}

fn seal(key: &SigningKey, seq: u64, label: &[u8], data: &[u8], ends: &Endpoints) -> Vec<u8> {
    let mut out = [0u8; MAX_BINDING_LEN];
    let len = binding::seal(key, seq, label, data, ends, &mut out).unwrap();
    out[..len].to_vec()
}

#[test]
fn compact_labels_round_trip_sorted_and_refuse_other_orders() {
    let bytes = label_bytes();
    let record = compact::decode(&bytes).unwrap();
    assert_eq!(
        &record.categories[..],
        &[value(1, 1), value(2, 11), value(3, 20)]
    );
    assert_eq!(
        (record.domain, record.policy, record.classification),
        (GBR, 1, 2)
    );
    let mut out = [0u8; MAX_COMPACT_LABEL_LEN];
    let len = compact::encode(&compact::as_label(&record), &mut out).unwrap();
    assert_eq!(&out[..len], &bytes[..]);
    // Swap the first two values (each 2 bytes: tag, one-byte code): not canonical.
    let mut swapped = bytes.clone();
    let at = swapped.len() - 6;
    swapped[at..at + 4].rotate_left(2);
    assert_eq!(compact::decode(&swapped), Err(LabelError::NotCanonical));
    assert_eq!(compact::decode(&[]), Err(LabelError::UnknownFormat));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(compact::decode(&trailing), Err(LabelError::TrailingBytes));
    for n in 0..bytes.len() {
        assert!(compact::decode(&bytes[..n]).is_err());
    }
}

#[test]
fn a_binding_verifies_once_and_the_guard_decides_on_its_label() {
    let (_, store, gbr_node, _) = store_with_nodes();
    let label = label_bytes();
    let data = b"convoy leaves at 0600";
    let sealed = seal(&gbr_node, 1, &label, data, &ENDS);
    let mut window = ReplayWindow::<8>::new();
    let verified = binding::verify(&*store, &mut window, &sealed, data, &ENDS, Some(NOW)).unwrap();
    assert_eq!(verified.origin.domain, GBR);
    assert_eq!(verified.seq, 1);
    assert_eq!(store.node_domain(ENDS.destination, Some(NOW)), Some(USA));
    let decision = super::decide(&*store, &compact::as_label(&verified.label), USA, Some(NOW));
    assert!(decision.lineage.home.is_some());
    // The same binding again is a replay.
    assert_eq!(
        binding::verify(&*store, &mut window, &sealed, data, &ENDS, Some(NOW)),
        Err(BindingRefusal::Replayed {
            address: ENDS.source,
            seq: 1
        })
    );
}

#[test]
fn tampered_mismatched_and_unknown_bindings_are_refused_and_not_recorded() {
    let (c, store, gbr_node, usa_node) = store_with_nodes();
    let label = label_bytes();
    let data = b"convoy leaves at 0600";
    let sealed = seal(&gbr_node, 7, &label, data, &ENDS);
    let mut window = ReplayWindow::<8>::new();
    let mut verify = |bytes: &[u8], data: &[u8], ends: &Endpoints| {
        binding::verify(&*store, &mut window, bytes, data, ends, Some(NOW))
    };
    // Other data.
    assert_eq!(
        verify(&sealed, b"convoy leaves at 0700", &ENDS),
        Err(BindingRefusal::DataMismatch)
    );
    // Every byte of the label, the sequence number and the signature matters.
    for at in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[at] ^= 0x01;
        assert!(
            verify(&bad, data, &ENDS).is_err(),
            "byte {at} flipped was accepted"
        );
    }
    // Presented for another destination, SAP or claimed origin.
    let other_sap = Endpoints {
        destination_sap: 18,
        ..ENDS
    };
    assert_eq!(
        verify(&sealed, data, &other_sap),
        Err(BindingRefusal::BadSignature)
    );
    let other_dest = Endpoints {
        destination: 0x303,
        ..ENDS
    };
    assert_eq!(
        verify(&sealed, data, &other_dest),
        Err(BindingRefusal::BadSignature)
    );
    // USA's node cannot speak for GBR's address, nor an address nobody credentialed.
    let forged = seal(&usa_node, 8, &label, data, &ENDS);
    assert_eq!(
        verify(&forged, data, &ENDS),
        Err(BindingRefusal::BadSignature)
    );
    let nobody = Endpoints {
        source: 0x999,
        ..ENDS
    };
    let unknown = seal(&gbr_node, 9, &label, data, &nobody);
    assert_eq!(
        verify(&unknown, data, &nobody),
        Err(BindingRefusal::UnknownOrigin { address: 0x999 })
    );
    // None of the refusals used up sequence number 7.
    assert!(verify(&sealed, data, &ENDS).is_ok());
    // Once GBR revokes its node's key, its bindings are refused.
    let mut store = store;
    let seq = store
        .revocation_seqs()
        .find(|(d, _)| *d == GBR)
        .map_or(0, |(_, s)| s);
    let entry = Revoked::Key(sample::public(&gbr_node).key_id());
    let revocation = sample::revocation(GBR, &c.gbr_root, seq + 1, &[entry]);
    store
        .admit(
            &sample::sign(&c.gbr_root, &Artifact::Revocation(revocation)),
            Some(NOW),
        )
        .unwrap();
    let later = seal(&gbr_node, 10, &label, data, &ENDS);
    assert_eq!(
        binding::verify(&*store, &mut window, &later, data, &ENDS, Some(NOW)),
        Err(BindingRefusal::UnknownOrigin {
            address: ENDS.source
        })
    );
}

#[test]
fn the_replay_window_accepts_each_number_once_in_any_order_within_64() {
    let mut w = ReplayWindow::<2>::new();
    for seq in [5, 3, 4, 70, 7, 6] {
        w.accept(1, seq).unwrap();
    }
    for seq in [5, 3, 4, 70, 7, 6, 0] {
        assert!(w.accept(1, seq).is_err(), "{seq} accepted twice");
    }
    // 70 - 64 = 6 is the oldest still tracked; 5 is too old to tell.
    assert!(w.accept(1, 8).is_ok());
    assert!(w.accept(2, 1).is_ok());
    assert_eq!(w.accept(3, 1), Err(BindingRefusal::OriginsFull));
    let saved: Vec<_> = w.origins().to_vec();
    let mut restored = ReplayWindow::<2>::new();
    for s in saved {
        restored.restore(s).unwrap();
    }
    assert!(restored.accept(1, 70).is_err());
    assert!(restored.accept(1, 71).is_ok());
}

#[test]
fn a_node_credential_without_node_scope_names_no_node() {
    let c = Coalition::new();
    let mut store = Box::new(c.store().unwrap());
    let key = sample::key(72);
    let cred = Credential {
        node: Some(0x404),
        ..sample::credential(&c.gbr_root, &key, GBR, Scope::POLICY, 0)
    };
    store
        .admit(
            &sample::sign(&c.gbr_root, &Artifact::Credential(cred)),
            Some(NOW),
        )
        .unwrap();
    assert_eq!(store.node_domain(0x404, Some(NOW)), None);
}

//! Revocation checkpoints between nodes joined directly: a long history stays within its
//! room, and a node far behind gets the checkpoint instead of the gap, even when its copies
//! and its own reconciliation are lost.

use std::vec::Vec;

use super::*;

/// A GBR checkpoint at `seq` holding `entries`, signed by the GBR root.
fn checkpoint(c: &Coalition, seq: u32, entries: &[Revoked]) -> Vec<u8> {
    let body = crate::policy::Checkpoint {
        domain: GBR,
        signer: sample::public(&c.gbr_root).key_id(),
        seq,
        entries: heapless::Vec::from_slice(entries).unwrap(),
    };
    sample::sign(&c.gbr_root, &Artifact::Checkpoint(body))
}

/// The policy revocation delta `seq` of a long history carries.
fn history_entry(seq: u32) -> Revoked {
    Revoked::Policy {
        id: 100 + seq % 4,
        version: seq,
    }
}

/// Two nodes that held the coalition together; node 2 is then away while node 1 admits
/// `history` revocation deltas (one [`history_entry`] each).
fn node_2_away_for_a_history(c: &Coalition, history: u32) -> Net {
    let mut net = Net::new(c, 2);
    publish_all(net.node(1), &c.artifacts());
    net.link(1, 2);
    net.run(|_| false);
    net.node(1).neighbour_down(addr(2));
    let now = net.now;
    for seq in 1..=history {
        net.node(1)
            .publish(now, Some(NOW), &revocation(c, seq, &[history_entry(seq)]))
            .unwrap();
    }
    net
}

#[test]
fn a_long_history_is_kept_within_its_room_and_a_node_far_behind_gets_the_checkpoint() {
    let c = Coalition::new();
    // Node 2 goes away; node 1 admits a year's worth of deltas, then the root's checkpoint.
    let history = 3 * u32::from(Config::new(9).revocation_history);
    let mut net = node_2_away_for_a_history(&c, history);
    let now = net.now;
    let deltas_kept = |n: &TestNode| n.held().filter(|a| a.kind == Kind::Revocation).count();
    assert_eq!(
        deltas_kept(net.node(1)),
        usize::from(Config::new(9).revocation_history),
        "GBR's history stays within its room"
    );
    let live: Vec<Revoked> = (history - 3..=history).map(history_entry).collect();
    let cp = checkpoint(&c, history, &live);
    net.node(1).publish(now, Some(NOW), &cp).unwrap();
    assert_eq!(
        deltas_kept(net.node(1)),
        0,
        "the checkpoint stands for them"
    );
    net.drain_events();
    // Node 2 comes back far behind: it takes the checkpoint instead of the gap.
    net.link(1, 2);
    net.run(|_| false);
    let seqs: Vec<(Domain, u32)> = net.node(2).trust().revocation_seqs().collect();
    assert!(seqs.contains(&(GBR, history)), "{seqs:?}");
    assert_eq!(net.holds(2), net.holds(1));
    // A later delta follows the checkpoint everywhere.
    let next = revocation(
        &c,
        history + 1,
        &[Revoked::Translator { id: 2, version: 1 }],
    );
    let now = net.now;
    net.node(1).publish(now, Some(NOW), &next).unwrap();
    net.run(|_| false);
    assert!(net.holds(2).contains(&Digest::of(&next)));
}

#[test]
fn a_lost_checkpoint_is_pushed_again_by_the_reconciliation_its_return_starts() {
    // hostile-partner, seed 1: the USA adjunct came back 2,000 deltas behind; usa-hq sent it
    // the checkpoint at once (three non-ARQ copies, all lost in a fade) and counted it as
    // held, so a range reconciliation never pushed it again (one cause of the adjunct's
    // 560 s wait for it; docs/store-and-forward.md, "The adjunct's late checkpoint").
    let c = Coalition::new();
    let history = 2 * u32::from(Config::new(9).revocation_history);
    let mut net = node_2_away_for_a_history(&c, history);
    let now = net.now;
    let live: Vec<Revoked> = (history - 3..=history).map(history_entry).collect();
    let cp = checkpoint(&c, history, &live);
    net.node(1).publish(now, Some(NOW), &cp).unwrap();
    net.drain_events();
    net.link(1, 2);
    // Its first copy is lost; everything else crosses.
    let mut lost = false;
    net.run(|(from, _, bytes)| {
        let first = *from == addr(1) && !lost && bytes.windows(cp.len()).any(|w| w == cp);
        lost |= first;
        first
    });
    assert!(lost, "the checkpoint was sent");
    let seqs: Vec<(Domain, u32)> = net.node(2).trust().revocation_seqs().collect();
    assert!(
        seqs.contains(&(GBR, history)),
        "the reconciliation brought the checkpoint: {seqs:?}"
    );
    assert_eq!(net.holds(2), net.holds(1));
}

#[test]
fn a_node_behind_on_revocations_asks_a_neighbour_that_counts_fewer() {
    // hostile-partner, seed 1: the USA adjunct, back 2,000 deltas behind, lost the
    // checkpoint's copies and its own reconciliation (it was transmitting when the DETAIL
    // naming the checkpoint came). usa-hq's SUMMARY broadcast then showed AUS at sequence
    // 2,000 and 30 artifacts, the adjunct at 0 and 45: the policies the checkpoint revokes
    // drop out of a count. The adjunct took usa-hq for behind, left it to another listener and
    // waited 492 s for the checkpoint (docs/store-and-forward.md, "The adjunct's late
    // checkpoint"). Here node 3 is the adjunct: its SUMMARYs are lost, node 1's is heard as a
    // broadcast that node 2, lower than node 3, hears too.
    let c = Coalition::new();
    let mut net = Net::holding_the_coalition(&c, 3);
    let revoked = [
        Revoked::Translator { id: 1, version: 1 },
        Revoked::Translator { id: 2, version: 1 },
    ];
    let cp = checkpoint(&c, 3, &revoked);
    for n in 1..=2 {
        net.node(n).publish(Instant::ZERO, Some(NOW), &cp).unwrap();
    }
    net.share_one_channel();
    let gbr = |n: &mut TestNode| n.summary().into_iter().find(|l| l.domain == GBR).unwrap();
    let (ahead, behind) = (gbr(net.node(1)), gbr(net.node(3)));
    assert!(ahead.revocation_seq > behind.revocation_seq && ahead.items < behind.items);
    net.hear_summary_broadcast(1, 3);
    net.run(|(_, _, bytes)| bytes[0] == message::tag::SUMMARY);
    let seqs: Vec<(Domain, u32)> = net.node(3).trust().revocation_seqs().collect();
    assert!(seqs.contains(&(GBR, 3)), "node 3 asked node 1: {seqs:?}");
    assert_eq!(net.holds(3), net.holds(1));
}

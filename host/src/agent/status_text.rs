//! `skywave status` for a person: counts with units, ages in seconds, minutes or hours, rates
//! as percentages, one line per fact an operator acts on.
//!
//! The same report goes to scripts as JSON (`status --json`, the [`StatusReport`] keys); this
//! only words it. The CLI renders it rather than the agent, so a newer CLI reads an older
//! agent's report (missing keys read as their defaults).

use super::control::{DomainStatus, LinkStatus, NeighbourStatus, StatusReport};

/// `512 B`, `12.3 KiB`, `4.0 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS.get(unit).unwrap_or(&"TiB"))
}

/// `42 s`, `3 min 4 s`, `2 h 5 min`.
pub fn age(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s / 60 % 60),
    }
}

/// The report, one line a fact.
pub fn lines(report: &StatusReport) -> Vec<String> {
    let mut lines = vec![format!(
        "node {} (SAP {}): {} artifacts, {} node messages waiting for a link, {} decisions logged",
        report.address,
        report.sap,
        report.artifacts,
        report.queued_messages,
        report.decisions_logged
    )];
    for (name, domain) in &report.domains {
        lines.push(format!("domain {name}: {}", domain_in_words(domain)));
    }
    if !report.refused.is_empty() {
        let parts: Vec<String> = report
            .refused
            .iter()
            .map(|(why, n)| format!("{n} {why}"))
            .collect();
        lines.push(format!("refused since start: {}", parts.join(", ")));
    }
    if let Some(inbox) = &report.inbox {
        let mut line = format!(
            "operator inbox: {} labelled messages waiting for `skywave receive` (holds {})",
            inbox.waiting, inbox.limit
        );
        if inbox.refused > 0 {
            line += &format!(
                ", {} refused since start (full or store failed)",
                inbox.refused
            );
        }
        lines.push(line);
    }
    for link in &report.links {
        lines.extend(link_in_words(link));
    }
    lines
}

fn domain_in_words(domain: &DomainStatus) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (id, version) in &domain.policies {
        parts.push(format!("policy #{id} v{version}"));
    }
    for (id, version) in &domain.translators {
        parts.push(format!("translator #{id} v{version}"));
    }
    parts.push(format!("{} credentials", domain.credentials));
    parts.push(format!("revocation seq {}", domain.revocation_seq));
    parts.join(", ")
}

fn link_in_words(l: &LinkStatus) -> Vec<String> {
    let physical = match &l.physical_link {
        Some(peer) => format!("physical link up with {peer}"),
        None => "no physical link".to_owned(),
    };
    let mut by_priority: Vec<(u8, usize)> =
        l.queued_by_priority.iter().map(|(&p, &n)| (p, n)).collect();
    by_priority.sort_by_key(|&(p, _)| std::cmp::Reverse(p));
    let priorities: Vec<String> = by_priority
        .iter()
        .map(|(p, n)| format!("{n} at priority {p}"))
        .collect();
    let queue = if priorities.is_empty() {
        format!("queue: 0 of {} C_PDUs", l.queue_capacity)
    } else {
        format!(
            "queue: {} of {} C_PDUs ({})",
            l.queued,
            l.queue_capacity,
            priorities.join(", ")
        )
    };
    let retransmitted = match l.retransmissions {
        Some(n) if l.frames_out > 0 => format!(
            ", {n} retransmitted ({:.1} %)",
            n as f64 * 100.0 / l.frames_out as f64
        ),
        Some(n) => format!(", {n} retransmitted"),
        None => ", retransmission by the 5066 node".to_owned(),
    };
    let mut lines = vec![
        format!("link {}: bearer {}, {physical}", l.name, l.bearer),
        format!("  {queue}"),
        format!(
            "  in: {} frames, {} ({} damaged); line noise {} ({} bad headers)",
            l.frames_in,
            bytes(l.bytes_in),
            l.frames_damaged,
            bytes(l.noise_bytes),
            l.bad_headers
        ),
        format!(
            "  out: {} frames, {}{retransmitted}",
            l.frames_out,
            bytes(l.bytes_out)
        ),
    ];
    lines.extend(l.neighbours.iter().map(neighbour_in_words));
    lines
}

fn neighbour_in_words(n: &NeighbourStatus) -> String {
    let heard = n.last_heard_s.map_or("never heard".to_owned(), |s| {
        format!("last heard {} ago", age(s))
    });
    let batches = if n.reads_batches {
        ", reads compressed batches"
    } else {
        ""
    };
    format!("  neighbour {}: {heard}{batches}", n.address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_ages_read_as_people_say_them() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 << 20), "5.0 MiB");
        assert_eq!(age(0.4), "0 s");
        assert_eq!(age(59.6), "1 min 0 s");
        assert_eq!(age(184.0), "3 min 4 s");
        assert_eq!(age(7500.0), "2 h 5 min");
    }
}

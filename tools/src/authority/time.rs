//! Times on the command line: `YYYY-MM-DD` (midnight UTC) or Unix seconds.

use anyhow::{Result, bail};
use skywave_protocol::policy::UnixTime;

/// Parses `YYYY-MM-DD` or a number of seconds since the epoch.
pub fn parse(text: &str) -> Result<UnixTime> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(UnixTime(secs));
    }
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        bail!("{text:?} is neither YYYY-MM-DD nor Unix seconds");
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<i64>(), d.parse::<i64>()) else {
        bail!("{text:?} is neither YYYY-MM-DD nor Unix seconds");
    };
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        bail!("{text:?} is out of range");
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(UnixTime(days as u64 * 86_400))
}

/// The system clock's time.
pub fn now() -> UnixTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_midnight_utc() {
        assert_eq!(parse("1970-01-01").unwrap(), UnixTime(0));
        assert_eq!(parse("2000-03-01").unwrap(), UnixTime(951_868_800));
        assert_eq!(parse("2026-11-26").unwrap(), UnixTime(1_795_651_200));
        assert_eq!(parse("12345").unwrap(), UnixTime(12345));
        assert!(parse("2026-13-01").is_err());
        assert!(parse("yesterday").is_err());
    }
}

//! Times on the command line: `YYYY-MM-DD` (midnight UTC), `YYYY-MM-DDTHH:MM:SSZ` or Unix
//! seconds; and times printed for people, as `YYYY-MM-DDTHH:MM:SSZ`.

use anyhow::{Result, bail};
use skywave_protocol::policy::UnixTime;

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ` (UTC) or a number of seconds since the epoch.
pub fn parse(text: &str) -> Result<UnixTime> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(UnixTime(secs));
    }
    let (date, clock) = match text.split_once('T') {
        Some((date, clock)) => (date, Some(clock)),
        None => (text, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        bail!("{text:?} is neither YYYY-MM-DD[THH:MM:SSZ] nor Unix seconds");
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<i64>(), d.parse::<i64>()) else {
        bail!("{text:?} is neither YYYY-MM-DD[THH:MM:SSZ] nor Unix seconds");
    };
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        bail!("{text:?} is out of range");
    }
    let seconds = match clock {
        None => 0,
        Some(clock) => seconds_of_day(clock)
            .ok_or_else(|| anyhow::anyhow!("{text:?}: the time must be HH:MM:SSZ (UTC)"))?,
    };
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(UnixTime(days as u64 * 86_400 + seconds))
}

/// `HH:MM:SSZ` as seconds since midnight.
fn seconds_of_day(clock: &str) -> Option<u64> {
    let parts: Vec<u64> = clock
        .strip_suffix('Z')?
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = parts.as_slice() else {
        return None;
    };
    (*h < 24 && *m < 60 && *s < 60).then_some(h * 3600 + m * 60 + s)
}

/// `time` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format(time: UnixTime) -> String {
    let (days, secs) = (time.0 / 86_400, time.0 % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
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
        assert_eq!(
            parse("2026-11-26T13:45:07Z").unwrap(),
            UnixTime(1_795_651_200 + 13 * 3600 + 45 * 60 + 7)
        );
        assert!(parse("2026-11-26T24:00:00Z").is_err());
        assert!(parse("2026-11-26T12:00:00").is_err(), "UTC only");
    }

    #[test]
    fn format_is_the_inverse_of_parse() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2026-12-05T12:02:47Z",
        ] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }
}

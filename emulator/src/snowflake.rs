//! Snowflake ids and timestamps, generated like Discord does.
//!
//! A snowflake is `((unix_ms - DISCORD_EPOCH_MS) << 22) | increment`. Ids come from one
//! process-wide counter, so they are strictly increasing across every emulator in the process
//! (two emulators never hand out the same id). Timestamps are RFC 3339 strings in Discord's own
//! shape, `2024-05-01T12:34:56.789000+00:00`, written by hand from unix milliseconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Discord's epoch, the first millisecond of 2015, in unix milliseconds.
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

static LAST_ID: AtomicU64 = AtomicU64::new(0);

/// Milliseconds since the unix epoch, by the wall clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A new snowflake from the current time, strictly greater than every id handed out before.
pub fn next_id() -> u64 {
    let candidate = now_ms().saturating_sub(DISCORD_EPOCH_MS) << 22;
    let mut last = LAST_ID.load(Ordering::Relaxed);
    loop {
        let id = candidate.max(last + 1);
        match LAST_ID.compare_exchange_weak(last, id, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return id,
            Err(seen) => last = seen,
        }
    }
}

/// The unix milliseconds a snowflake was made at.
pub fn id_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// Parses a snowflake as Discord accepts it in paths and queries: decimal digits only.
pub fn parse(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Days since 1970-01-01 to a (year, month, day) civil date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix milliseconds as Discord writes a timestamp: `YYYY-MM-DDTHH:MM:SS.mmm000+00:00`.
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = (unix_ms / 1000) as i64;
    let ms = unix_ms % 1000;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}000+00:00",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// The creation timestamp of a snowflake, RFC 3339.
pub fn id_timestamp(id: u64) -> String {
    rfc3339(id_ms(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000+00:00");
        assert_eq!(
            rfc3339(DISCORD_EPOCH_MS),
            "2015-01-01T00:00:00.000000+00:00"
        );
        // 2024-02-29T23:59:59.999Z, a leap day.
        assert_eq!(
            rfc3339(1_709_251_199_999),
            "2024-02-29T23:59:59.999000+00:00"
        );
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123000+00:00");
    }

    #[test]
    fn ids_increase_and_carry_time() {
        let a = next_id();
        let b = next_id();
        assert!(b > a);
        let now = now_ms();
        assert!(id_ms(b) <= now + 1000 && id_ms(b) + 1000 >= now);
    }

    #[test]
    fn parses_only_digits() {
        assert_eq!(parse("123"), Some(123));
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("1a"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("99999999999999999999999"), None);
    }
}

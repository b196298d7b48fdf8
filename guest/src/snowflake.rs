//! Discord snowflakes: validation, ordering and the time they encode.
//!
//! Snowflakes travel as JSON strings of digits; they are compared as `u64`, never as strings.
//! See <https://discord.com/developers/docs/reference#snowflakes>.

use crate::bindings::AlertError;

/// Milliseconds from the Unix epoch to the Discord epoch (2015-01-01T00:00:00Z).
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
/// Digits of the shortest id Discord hands out.
pub const MIN_DIGITS: usize = 17;
/// Digits of the longest id (a `u64` has at most 20).
pub const MAX_DIGITS: usize = 20;

/// Parse a snowflake: 1 to [`MAX_DIGITS`] ASCII digits that fit in a `u64` and are not zero.
pub fn parse(id: &str) -> Option<u64> {
    if id.is_empty() || id.len() > MAX_DIGITS || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse::<u64>().ok().filter(|&v| v != 0)
}

/// Whether `id` is a plausible snowflake ([`MIN_DIGITS`] to [`MAX_DIGITS`] digits).
pub fn is_valid(id: &str) -> bool {
    id.len() >= MIN_DIGITS && parse(id).is_some()
}

/// The error for a `what` id (e.g. "channel") that is not a plausible snowflake.
pub fn not_an_id(what: &str, id: &str) -> AlertError {
    AlertError::InvalidInput(format!(
        "{what} id `{id}` is not a Discord id ({MIN_DIGITS}-{MAX_DIGITS} digits)"
    ))
}

/// Unix time in milliseconds at which a snowflake was created.
pub fn unix_ms(id: u64) -> u64 {
    (id >> 22) + DISCORD_EPOCH_MS
}

/// Format Unix milliseconds as RFC 3339 in UTC with milliseconds, e.g. `2026-11-28T04:07:25.123Z`.
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let ms = unix_ms % 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_ids_and_rejects_junk() {
        assert_eq!(parse("175928847299117063"), Some(175928847299117063));
        assert!(is_valid("175928847299117063"));
        for bad in [
            "",
            "0",
            "abc",
            "12 3",
            "-5",
            "99999999999999999999999",
            "1234",
        ] {
            assert!(!is_valid(bad), "{bad:?} accepted");
        }
        // Larger than u64::MAX but 20 digits.
        assert_eq!(parse("99999999999999999999"), None);
    }

    #[test]
    fn compares_numerically_not_lexically() {
        let short = parse("99999999999999999").unwrap();
        let long = parse("100000000000000000").unwrap();
        assert!(short < long);
        assert!("99999999999999999" > "100000000000000000");
    }

    #[test]
    fn timestamp_from_discord_docs_example() {
        // Discord's documentation: 175928847299117063 was created 2016-04-30 11:18:25.796 UTC.
        let ms = unix_ms(175928847299117063);
        assert_eq!(ms, 1_462_015_105_796);
        assert_eq!(rfc3339(ms), "2016-04-30T11:18:25.796Z");
    }

    #[test]
    fn rfc3339_handles_leap_years_and_epoch() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_798_761_599_999), "2026-12-31T23:59:59.999Z");
    }

    #[test]
    fn only_plain_digits_of_at_most_20_parse() {
        assert_eq!(
            parse("12345678901234567890"),
            Some(12_345_678_901_234_567_890)
        );
        assert_eq!(parse("1"), Some(1));
        for bad in [
            "+175928847299117063",
            "0175928847299117063x",
            "",
            "123456789012345678901",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn civil_dates_across_centuries_and_leap_days() {
        for (ms, text) in [
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (951_868_800_000, "2000-03-01T00:00:00.000Z"),
            (1_709_164_800_000, "2024-02-29T00:00:00.000Z"),
            (1_735_689_599_999, "2024-12-31T23:59:59.999Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (4_102_444_800_000, "2100-01-01T00:00:00.000Z"),
        ] {
            assert_eq!(rfc3339(ms), text, "{ms}");
        }
    }
}

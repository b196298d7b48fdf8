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

/// The distinct ids of a list someone gave, in the order first given: each entry trimmed and
/// checked with [`is_valid`], and entries naming the same id (compared as numbers, so
/// `0123…` and `123…` are one id) collapsed into the first. `Err` is the first entry, as
/// given, that is not a plausible snowflake.
pub fn distinct(ids: &[String]) -> Result<Vec<u64>, &str> {
    let mut out: Vec<u64> = Vec::with_capacity(ids.len());
    for given in ids {
        let id = given.trim();
        let value = parse(id).filter(|_| is_valid(id)).ok_or(given.as_str())?;
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(out)
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

/// Parse an RFC 3339 date-time (`2026-11-28T04:07:25.123Z`, or Discord's
/// `2026-11-28T04:07:25.123000+00:00`) into Unix milliseconds; digits past milliseconds are
/// dropped. Dates before 1970 are refused.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| -> Option<i64> {
        let part = s.get(from..to)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut ms = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let three: String = frac[..digits].chars().chain("00".chars()).take(3).collect();
        ms = three.parse::<i64>().ok()?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let o = rest.as_bytes();
            if o.len() != 6 || o[3] != b':' || ![1, 2, 4, 5].iter().all(|&i| o[i].is_ascii_digit())
            {
                return None;
            }
            let two = |i: usize| i64::from(o[i] - b'0') * 10 + i64::from(o[i + 1] - b'0');
            sign * (two(1) * 60 + two(4))
        }
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    u64::try_from(secs * 1000 + ms).ok()
}

/// A (year, month, day) civil date to days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn distinct_collapses_repeats_by_value_and_names_the_first_bad_entry() {
        let ids = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        let given = ids(&[
            "333333333333333333",
            " 444444444444444444 ",
            "333333333333333333",
            "0333333333333333333",
            "444444444444444444",
        ]);
        assert_eq!(
            distinct(&given),
            Ok(vec![333_333_333_333_333_333, 444_444_444_444_444_444])
        );
        assert_eq!(distinct(&[]), Ok(vec![]));
        let bad = ids(&["333333333333333333", " 12 ", "x"]);
        assert_eq!(distinct(&bad), Err(" 12 "));
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
    fn rfc3339_parses_our_format_and_discords() {
        for ms in [0, 951_782_400_000, 1_790_001_000_123, 4_107_542_400_999] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms), "{}", rfc3339(ms));
        }
        let ours = parse_rfc3339("2026-11-28T04:07:25.123Z").unwrap();
        assert_eq!(
            parse_rfc3339("2026-11-28T04:07:25.123000+00:00"),
            Some(ours)
        );
        assert_eq!(
            parse_rfc3339("2026-11-28T06:07:25.123+02:00"),
            Some(ours),
            "an offset east of UTC is subtracted"
        );
        assert_eq!(parse_rfc3339("2026-11-28T04:07:25Z"), Some(ours - 123));
        assert_eq!(parse_rfc3339("2026-11-28T04:07:25.1Z"), Some(ours - 23));
        for bad in [
            "",
            "2026-11-28",
            "2026-13-28T04:07:25Z",
            "2026-11-28T04:07:25",
            "2026-11-28T04:07:25.Z",
            "2026-11-28T04:07:25+2:00",
            "2026-11-28T04:07:25+-2:00",
            "2026-11-28X04:07:25Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
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

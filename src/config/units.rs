//! Durations (`"250ms"`, `"5s"`, integers in milliseconds) and sizes
//! (`"16k"`, `"1m"`, integers in bytes). Errors say what was expected.

use std::time::Duration;

use super::raw::IntOrStr;

const DURATION_EXPECTED: &str = "expected a number followed by us, ms, s, m, h or d";
const SIZE_EXPECTED: &str = "expected a number of bytes, optionally followed by k, m or g";

/// Parses a duration: a string with a unit, or an integer of milliseconds.
pub fn duration(v: &IntOrStr) -> Result<Duration, String> {
    match v {
        IntOrStr::Int(ms) => u64::try_from(*ms)
            .map(Duration::from_millis)
            .map_err(|_| format!("invalid duration {ms}: a duration cannot be negative")),
        IntOrStr::Str(s) => parse_duration(s),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration \"{s}\": {DURATION_EXPECTED}");
    let (num, unit) = split_number(s).ok_or_else(bad)?;
    let n: u64 = num.parse().map_err(|_| bad())?;
    let micros_per: u64 = match unit {
        "us" => 1,
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(micros_per)
        .map(Duration::from_micros)
        .ok_or_else(|| format!("invalid duration \"{s}\": too large"))
}

/// Parses a size: a string with an optional binary suffix (k = 1024), or an
/// integer of bytes.
pub fn size(v: &IntOrStr) -> Result<u64, String> {
    match v {
        IntOrStr::Int(n) => {
            u64::try_from(*n).map_err(|_| format!("invalid size {n}: a size cannot be negative"))
        }
        IntOrStr::Str(s) => parse_size(s),
    }
}

fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || format!("invalid size \"{s}\": {SIZE_EXPECTED}");
    let (num, unit) = split_number(s).ok_or_else(bad)?;
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("invalid size \"{s}\": too large"))
}

/// `"250ms"` → `("250", "ms")`; `None` when there are no leading digits.
fn split_number(s: &str) -> Option<(&str, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (end > 0).then(|| s.split_at(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Result<Duration, String> {
        duration(&IntOrStr::Str(s.into()))
    }

    #[test]
    fn durations() {
        assert_eq!(d("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(d("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(d("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(d("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(d("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(d("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(d("0s"), Ok(Duration::ZERO));
        assert_eq!(
            duration(&IntOrStr::Int(1500)),
            Ok(Duration::from_millis(1500))
        );
    }

    #[test]
    fn bad_durations_say_what_was_expected() {
        assert_eq!(
            d("5 sec").unwrap_err(),
            "invalid duration \"5 sec\": expected a number followed by us, ms, s, m, h or d"
        );
        for bad in ["5", "s", "", "5x", "-5s", "1.5s", "5S"] {
            assert!(d(bad).is_err(), "{bad}");
        }
        assert!(duration(&IntOrStr::Int(-1)).is_err());
        assert!(d("99999999999999999d").unwrap_err().contains("too large"));
    }

    #[test]
    fn sizes() {
        let s = |v: &str| size(&IntOrStr::Str(v.into()));
        assert_eq!(s("16k"), Ok(16384));
        assert_eq!(s("1m"), Ok(1 << 20));
        assert_eq!(s("1G"), Ok(1 << 30));
        assert_eq!(s("2048"), Ok(2048));
        assert_eq!(size(&IntOrStr::Int(4096)), Ok(4096));
        assert_eq!(
            s("16 kb").unwrap_err(),
            "invalid size \"16 kb\": expected a number of bytes, optionally followed by k, m or g"
        );
        assert!(s("16kb").is_err());
        assert!(s("k").is_err());
        assert!(size(&IntOrStr::Int(-1)).is_err());
    }
}

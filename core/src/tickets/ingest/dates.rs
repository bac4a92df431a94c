//! Dates as exports write them: ISO, day- or month-first numeric dates (the order voted on from
//! the data), two-digit years, AM/PM, Excel serial numbers.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// Evidence for day-first vs month-first numeric dates.
#[derive(Debug, Default)]
pub(super) struct DateVotes {
    day_first: u32,
    month_first: u32,
    dotted: u32,
    iso: u32,
}

impl DateVotes {
    pub(super) fn observe(&mut self, s: &str) {
        let s = s.trim();
        let mut nums = s
            .split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty());
        let (Some(a), Some(b)) = (nums.next(), nums.next()) else {
            return;
        };
        if a.len() == 4 {
            self.iso += 1; // ISO: year first, no ambiguity
            return;
        }
        if s.contains('.') && !s.contains('/') {
            self.dotted += 1;
        }
        let (a, b): (u32, u32) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
        if a > 12 && b <= 12 {
            self.day_first += 1;
        } else if b > 12 && a <= 12 {
            self.month_first += 1;
        }
    }

    pub(super) fn decided(&self) -> bool {
        self.day_first + self.month_first >= 20 || self.iso >= 1_000
    }

    pub(super) fn day_first(&self, locale_hint: bool) -> bool {
        if self.day_first != self.month_first {
            self.day_first > self.month_first
        } else {
            locale_hint || self.dotted > 0
        }
    }
}

/// Parses the date/time shapes found in exports: ISO (`2024-09-03 08:15:00`, `T`, offsets, `Z`),
/// `03/09/2024 8:15`, `9/3/2024 8:15:00 PM`, `03.09.2024`, two-digit years.
/// Numeric day/month order follows `day_first` unless one part is above 12.
pub fn parse_datetime(s: &str, day_first: bool) -> Option<NaiveDateTime> {
    let s = s.trim();
    let bytes = s.as_bytes();
    let mut nums = [0u32; 7];
    let mut lens = [0usize; 7];
    let mut n = 0;
    let mut i = 0;
    while i < bytes.len() && n < 7 {
        if bytes[i].is_ascii_digit() {
            let start = i;
            let mut v: u32 = 0;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                v = v
                    .saturating_mul(10)
                    .saturating_add((bytes[i] - b'0') as u32);
                i += 1;
            }
            nums[n] = v;
            lens[n] = i - start;
            n += 1;
        } else {
            // A `+hh:mm` / `-hh:mm` after the time is an offset: stop there.
            if n >= 5 && (bytes[i] == b'+' || bytes[i] == b'-') {
                break;
            }
            i += 1;
        }
    }
    if n < 3 {
        return None;
    }
    let (y, m, d) = if lens[0] == 4 {
        (nums[0] as i32, nums[1], nums[2])
    } else {
        let (a, b) = (nums[0], nums[1]);
        let mut y = nums[2] as i32;
        if lens[2] == 2 {
            y += 2000;
        } else if lens[2] != 4 {
            return None;
        }
        let (d, m) = if a > 12 {
            (a, b)
        } else if b > 12 {
            (b, a)
        } else if day_first {
            (a, b)
        } else {
            (b, a)
        };
        (y, m, d)
    };
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    let mut h = if n > 3 { nums[3] } else { 0 };
    let min = if n > 4 { nums[4] } else { 0 };
    let sec = if n > 5 { nums[5] } else { 0 };
    let has_letters = bytes
        .iter()
        .any(|b| b.is_ascii_alphabetic() && *b != b'T' && *b != b'Z');
    let (pm, am) = if has_letters {
        let lower = s.to_ascii_lowercase();
        (
            lower.ends_with("pm") || lower.contains(" pm") || lower.contains("p.m."),
            lower.ends_with("am") || lower.contains(" am") || lower.contains("a.m."),
        )
    } else {
        (false, false)
    };
    if pm && h < 12 {
        h += 12;
    } else if am && h == 12 {
        h = 0;
    }
    let time = NaiveTime::from_hms_opt(h, min, sec.min(59))?;
    Some(NaiveDateTime::new(date, time))
}

/// An Excel serial date (days since 1899-12-30) as a date-time.
pub fn excel_serial(v: f64) -> Option<NaiveDateTime> {
    if !(1.0..200_000.0).contains(&v) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let secs = (v * 86_400.0).round() as i64;
    base.checked_add_signed(chrono::TimeDelta::seconds(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_many_shapes() {
        let d = |s, df| parse_datetime(s, df).map(|d| d.to_string());
        assert_eq!(
            d("2010-01-13 08:40:25+00:00", false).unwrap(),
            "2010-01-13 08:40:25"
        );
        assert_eq!(
            d("2024-09-03T08:15:00Z", false).unwrap(),
            "2024-09-03 08:15:00"
        );
        assert_eq!(d("03/09/2024 08:15", true).unwrap(), "2024-09-03 08:15:00");
        assert_eq!(d("03/09/2024 08:15", false).unwrap(), "2024-03-09 08:15:00");
        assert_eq!(
            d("9/23/2024 1:05:00 PM", true).unwrap(),
            "2024-09-23 13:05:00"
        );
        assert_eq!(d("23.09.24", false).unwrap(), "2024-09-23 00:00:00");
        assert!(d("31/31/2024", true).is_none());
        assert!(d("soon", true).is_none());
    }
}

//! The `format` values the harness's schemas use, checked: a target rejects `2025-13-40` or a
//! mail address without a domain whatever the draft says formats are.

/// A string format a schema may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// RFC 3339 `full-date`: `2025-04-30`.
    Date,
    /// RFC 3339 `date-time`: `2025-04-30T12:00:00Z`, `2025-04-30T12:00:00.5+02:00`.
    DateTime,
    /// An addr-spec (RFC 5321): `local@domain`.
    Email,
}

impl Format {
    pub(super) fn named(name: &str) -> Option<Format> {
        match name {
            "date" => Some(Format::Date),
            "date-time" => Some(Format::DateTime),
            "email" => Some(Format::Email),
            _ => None,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Format::Date => "date",
            Format::DateTime => "date-time",
            Format::Email => "email",
        }
    }

    pub(super) fn accepts(self, s: &str) -> bool {
        match self {
            Format::Date => date(s.as_bytes()),
            Format::DateTime => date_time(s.as_bytes()),
            Format::Email => email(s),
        }
    }
}

/// Exactly `n` ASCII digits as a number.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
}

fn date(b: &[u8]) -> bool {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (digits(&b[..4]), digits(&b[5..7]), digits(&b[8..])) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let last = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=last).contains(&day)
}

fn date_time(b: &[u8]) -> bool {
    // full-date "T" partial-time time-offset; RFC 3339 allows the T and Z in lower case.
    b.len() >= 20 && date(&b[..10]) && matches!(b[10], b'T' | b't') && time(&b[11..])
}

fn time(b: &[u8]) -> bool {
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) = (digits(&b[..2]), digits(&b[3..5]), digits(&b[6..8])) else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = &b[8..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    // Minutes east of UTC.
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (Some(h), Some(m)) = (digits(&[*h1, *h2]), digits(&[*m1, *m2])) else {
                return false;
            };
            if h > 23 || m > 59 {
                return false;
            }
            let minutes = i64::from(h * 60 + m);
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return false,
    };
    // A leap second is inserted at the end of a UTC day only.
    second != 60 || (i64::from(hour * 60 + minute) - offset).rem_euclid(24 * 60) == 23 * 60 + 59
}

fn email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    local_part(local) && mail_domain(domain)
}

/// A dot-atom (`first.last`) or a quoted string (`"a b"`).
fn local_part(local: &str) -> bool {
    if local.len() > 64 {
        return false;
    }
    if let Some(quoted) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        let mut escaped = false;
        for c in quoted.chars() {
            if !(c == ' ' || c.is_ascii_graphic() || !c.is_ascii()) {
                return false;
            }
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return false,
                _ => {}
            }
        }
        return !escaped;
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii();
    local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext))
}

/// A host name or an address literal (`[127.0.0.2]`, `[IPv6:2001:db8::1]`).
fn mail_domain(domain: &str) -> bool {
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return match literal.strip_prefix("IPv6:") {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
            None => literal.parse::<std::net::Ipv4Addr>().is_ok(),
        };
    }
    let label = |l: &str| {
        (1..=63).contains(&l.len()) && !l.starts_with('-') && !l.ends_with('-') && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    };
    domain.len() <= 253 && domain.split('.').all(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_calendar_days() {
        for ok in ["2025-04-30", "2024-02-29", "2000-02-29", "0001-01-01"] {
            assert!(Format::Date.accepts(ok), "{ok}");
        }
        for bad in ["2025-13-01", "2025-00-10", "2025-04-31", "2023-02-29", "1900-02-29", "2025-4-30", "2025/04/30", "2025-04-30T00:00:00Z", "", "２０２５-04-30"] {
            assert!(!Format::Date.accepts(bad), "{bad}");
        }
    }

    #[test]
    fn date_times_follow_rfc_3339() {
        for ok in ["2025-04-30T12:00:00Z", "2025-04-30t12:00:00z", "2025-04-30T12:00:00.123456+02:00", "2025-04-30T23:59:60Z", "2025-05-01T01:59:60+02:00", "2025-04-30T18:29:60-05:30"] {
            assert!(Format::DateTime.accepts(ok), "{ok}");
        }
        for bad in [
            "2025-04-30",
            "2025-04-30 12:00:00Z",
            "2025-04-30T12:00:00",
            "2025-04-30T24:00:00Z",
            "2025-04-30T12:60:00Z",
            "2025-04-30T12:00:00.Z",
            "2025-04-30T12:00:00+2:00",
            "2025-04-30T12:00:00+24:00",
            "2025-04-30T12:00:00+0200",
            "2025-04-30T12:00:60Z",
            "2025-02-30T12:00:00Z",
            "2025-04-30T12:00Z",
        ] {
            assert!(!Format::DateTime.accepts(bad), "{bad}");
        }
    }

    #[test]
    fn emails_have_a_local_part_and_a_domain() {
        for ok in ["ada@example.com", "first.last+tag@mail.example.co.uk", "\"a b\"@example.com", "x@[127.0.0.2]", "x@[IPv6:2001:db8::1]", "x@localhost"] {
            assert!(Format::Email.accepts(ok), "{ok}");
        }
        for bad in ["", "ada", "@example.com", "ada@", "ada..b@example.com", ".ada@example.com", "ada@-example.com", "ada@exa_mple.com", "ada@example..com", "a b@example.com", "x@[127.0.0.300]", "\"a\"b\"@example.com"] {
            assert!(!Format::Email.accepts(bad), "{bad}");
        }
    }

    #[test]
    fn names_round_trip() {
        for f in [Format::Date, Format::DateTime, Format::Email] {
            assert_eq!(Format::named(f.name()), Some(f));
        }
        assert_eq!(Format::named("uri"), None);
    }
}

//! Consistent, format-keeping fakes for personal data.
//!
//! Every fake is derived from HMAC-SHA256(key, kind ‖ 0 ‖ normalised value): the same real value
//! gives the same fake in every file and every run with the same key, so lookups by email and
//! references between recordings keep working, and without the key nobody can test guesses of the
//! real values against the fakes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::fields::Personal;

/// The reserved domain every fake email lives in; the lint and the redactor leave it alone.
const EMAIL_DOMAIN: &str = "example.com";

const FIRST_NAMES: &[&str] = &[
    "Alex", "Avery", "Billie", "Blair", "Casey", "Charlie", "Dana", "Drew", "Eden", "Frankie", "Gray", "Harper",
    "Indy", "Jamie", "Kai", "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese", "Riley", "Robin", "Rowan",
    "Sage", "Sam", "Skyler", "Taylor", "Toni", "Val", "Wren",
];
const LAST_NAMES: &[&str] = &[
    "Abbott", "Ashby", "Barlow", "Brennan", "Calloway", "Carver", "Dalton", "Draper", "Ellis", "Everett", "Finch",
    "Fletcher", "Garrett", "Granger", "Hale", "Holloway", "Irving", "Jensen", "Keller", "Lowry", "Mercer", "Nolan",
    "Osborne", "Prescott", "Quinlan", "Rhodes", "Sutton", "Thorne", "Upton", "Vance", "Whitlock", "Yates",
];
const STREET_NAMES: &[&str] = &[
    "Acorn", "Alder", "Aspen", "Beech", "Birch", "Cedar", "Cherry", "Chestnut", "Cypress", "Elm", "Fern", "Hawthorn",
    "Hazel", "Holly", "Ivy", "Juniper", "Larch", "Laurel", "Linden", "Magnolia", "Maple", "Myrtle", "Oak", "Olive",
    "Pine", "Poplar", "Rowan", "Spruce", "Sycamore", "Walnut", "Willow", "Yew",
];

/// Whether every word of `name` is one the faker writes (in any case style): a name the redactor
/// made, which the lint lets pass.
pub(super) fn is_fake_name(name: &str) -> bool {
    let known = |w: &str| FIRST_NAMES.iter().chain(LAST_NAMES).any(|n| n.eq_ignore_ascii_case(w));
    let mut words = runs(name, char::is_alphabetic).filter(|(is_word, _)| *is_word).map(|(_, w)| w).peekable();
    words.peek().is_some() && words.all(known)
}

/// ITU-T E.164 country codes of two digits; `1` and `7` are the only one-digit codes and every
/// other code has three digits, so this table is all it takes to keep a number's country.
const TWO_DIGIT_COUNTRY_CODES: &[u8] = &[
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62,
    63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
];

/// The documentation prefixes of RFC 5737 (TEST-NET-1, -2 and -3) and RFC 3849, as numbers.
const DOC_V4_PREFIXES: [[u8; 3]; 3] = [[192, 0, 2], [198, 51, 100], [203, 0, 113]];
const DOC_V6_PREFIX: [u16; 2] = [0x2001, 0x0db8];

pub(super) struct Faker {
    key: [u8; 32],
}

impl Faker {
    pub(super) fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn digest(&self, kind: &str, value: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// `Jane.Doe@Shop.co` → `customer-1a2b3c4d5e6f@example.com`, case-insensitively consistent.
    /// 48 bits of digest keep two real addresses from sharing a fake (which would merge two
    /// customers on replay) until there are millions of them.
    pub(super) fn email(&self, email: &str) -> String {
        let digest = self.digest("email", &email.trim().to_lowercase());
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("customer-{hex}@{EMAIL_DOMAIN}")
    }

    /// The fake for a value of a personal field, or `None` when there is nothing to fake (empty,
    /// no digits in a phone, no letters in a name).
    pub(super) fn personal(&self, kind: Personal, value: &str) -> Option<String> {
        match kind {
            Personal::Phone => self.phone(value),
            Personal::Street => self.street(value),
            Personal::FirstName | Personal::LastName | Personal::FullName => self.name(kind, value),
        }
    }

    /// Same length and punctuation, same `+`/`00` and country code (or national trunk `0`); the
    /// other digits come from the digest of all digits, so one number written two ways still
    /// gets the same digits.
    fn phone(&self, value: &str) -> Option<String> {
        self.phone_digits(value, false)
    }

    /// A phone number found inside free text (a note, a memo): the same shape, the country code
    /// or trunk prefix kept, then zeros and four digits of the fake ([`is_text_phone_fake`]), so
    /// the lint can tell it from a real number. Nobody looks a customer up by a number in a note.
    pub(super) fn phone_in_text(&self, value: &str) -> Option<String> {
        self.phone_digits(value, true)
    }

    fn phone_digits(&self, value: &str, zeros: bool) -> Option<String> {
        let digits: Vec<u8> = value.bytes().filter(u8::is_ascii_digit).collect();
        let kept = kept_prefix(value, &digits);
        if digits.len() <= kept {
            return None;
        }
        let rest = digits.len() - kept;
        // All but the last four, and at least three.
        let zeroed = kept + rest.saturating_sub(4).max(rest.min(TEXT_PHONE_ZEROS));
        let digest = self.digest("phone", std::str::from_utf8(&digits).unwrap_or_default());
        let mut index = 0;
        Some(
            value
                .chars()
                .map(|c| {
                    if !c.is_ascii_digit() {
                        return c;
                    }
                    index += 1;
                    if index <= kept {
                        c
                    } else if zeros && index <= zeroed {
                        '0'
                    } else {
                        char::from(b'0' + digest[index % digest.len()] % 10)
                    }
                })
                .collect(),
        )
    }

    fn street(&self, value: &str) -> Option<String> {
        let normalised = value.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        if normalised.is_empty() {
            return None;
        }
        let digest = self.digest("street", &normalised);
        let number = 1 + u16::from_be_bytes([digest[0], digest[1]]) % 199;
        Some(format!("{number} {} Street", pick(STREET_NAMES, &digest[2..])))
    }

    /// Each word replaced on its own (so `first_name` + `last_name` and `name` stay consistent),
    /// separators and case style kept; runs without letters (`#2`, `&`) stay.
    fn name(&self, kind: Personal, value: &str) -> Option<String> {
        let mut out = String::with_capacity(value.len());
        let mut words = 0;
        for (is_word, piece) in runs(value, char::is_alphabetic) {
            if !is_word {
                out.push_str(piece);
                continue;
            }
            let first = match kind {
                Personal::FirstName => true,
                Personal::FullName => words == 0,
                _ => false,
            };
            words += 1;
            let (list, label) = if first { (FIRST_NAMES, "first-name") } else { (LAST_NAMES, "last-name") };
            out.push_str(&styled(pick(list, &self.digest(label, &piece.to_lowercase())), piece));
        }
        (words > 0).then_some(out)
    }

    /// A documentation-range address for a public one; `None` for addresses that identify no one:
    /// loopback, private, link-local, multicast, documentation (so fakes are never re-faked), and
    /// IPv4 network addresses ending in `.0` — which also spares the `Chrome/<major>.0.0.0` of every
    /// user agent.
    pub(super) fn ip(&self, ip: IpAddr) -> Option<IpAddr> {
        match ip {
            IpAddr::V4(v4) => self.ipv4(v4).map(IpAddr::V4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.ipv4(v4).map(|fake| IpAddr::V6(fake.to_ipv6_mapped())),
                None => self.ipv6(v6).map(IpAddr::V6),
            },
        }
    }

    fn ipv4(&self, ip: Ipv4Addr) -> Option<Ipv4Addr> {
        let [first, .., last] = ip.octets();
        if ip.is_loopback()
            || ip.is_private()
            || ip.is_link_local()
            || ip.is_broadcast()
            || ip.is_documentation()
            || ip.is_multicast()
            || first == 0
            || first >= 240
            || last == 0
        {
            return None;
        }
        let digest = self.digest("ipv4", &ip.to_string());
        let [a, b, c] = DOC_V4_PREFIXES[usize::from(digest[0]) % DOC_V4_PREFIXES.len()];
        Some(Ipv4Addr::new(a, b, c, 1 + digest[1] % 254))
    }

    fn ipv6(&self, ip: Ipv6Addr) -> Option<Ipv6Addr> {
        let [s0, s1, ..] = ip.segments();
        if ip.is_loopback()
            || ip.is_unspecified()
            || ip.is_multicast()
            || ip.is_unique_local()
            || ip.is_unicast_link_local()
            || [s0, s1] == DOC_V6_PREFIX
        {
            return None;
        }
        let digest = self.digest("ipv6", &ip.to_string());
        let group = |i: usize| u16::from_be_bytes([digest[2 * i], digest[2 * i + 1]]);
        Some(Ipv6Addr::new(
            DOC_V6_PREFIX[0],
            DOC_V6_PREFIX[1],
            group(0),
            group(1),
            group(2),
            group(3),
            group(4),
            group(5),
        ))
    }
}

/// Leading zeros after the kept prefix that mark a fake made by [`Faker::phone_in_text`]: no
/// real number has them (a national number never starts with `00`, nor does one after a country
/// code).
const TEXT_PHONE_ZEROS: usize = 3;

/// How many leading digits of a phone number a fake keeps: the country code (`+44`, `0044`), or
/// the trunk `0` of a national number.
fn kept_prefix(value: &str, digits: &[u8]) -> usize {
    if value.trim_start().starts_with('+') {
        country_code_len(digits)
    } else if digits.starts_with(b"00") {
        2 + country_code_len(&digits[2..])
    } else {
        usize::from(digits.first() == Some(&b'0'))
    }
}

/// Whether a phone number is a fake [`Faker::phone_in_text`] made: zeros right after the kept
/// prefix.
pub(super) fn is_text_phone_fake(value: &str) -> bool {
    let digits: Vec<u8> = value.bytes().filter(u8::is_ascii_digit).collect();
    // A national number's fake starts `000` (its trunk `0`, then zeros), which no number does
    // (`00` is followed by a country code, and none starts with `0`).
    if digits.starts_with(b"000") {
        return true;
    }
    let kept = kept_prefix(value, &digits);
    digits.len() > kept + TEXT_PHONE_ZEROS && digits[kept..kept + TEXT_PHONE_ZEROS].iter().all(|&d| d == b'0')
}

fn country_code_len(digits: &[u8]) -> usize {
    match digits {
        [b'1' | b'7', ..] => 1,
        [a, b, ..] if TWO_DIGIT_COUNTRY_CODES.contains(&((a - b'0') * 10 + (b - b'0'))) => 2,
        _ => 3,
    }
}

fn pick<'a>(list: &[&'a str], digest: &[u8]) -> &'a str {
    list[usize::from(u16::from_be_bytes([digest[0], digest[1]])) % list.len()]
}

/// The fake in the case style of the word it replaces: `JANE` → `SAM`, `jane` → `sam`.
fn styled(fake: &str, like: &str) -> String {
    if like.chars().count() > 1 && !like.chars().any(char::is_lowercase) {
        fake.to_uppercase()
    } else if !like.chars().any(char::is_uppercase) {
        fake.to_lowercase()
    } else {
        fake.to_string()
    }
}

/// `text` cut into maximal runs of characters that do / do not satisfy `pred`.
fn runs(text: &str, pred: fn(char) -> bool) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let kind = pred(first);
        let end = rest.char_indices().find(|&(_, c)| pred(c) != kind).map_or(rest.len(), |(i, _)| i);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some((kind, piece))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faker() -> Faker {
        Faker::new([7; 32])
    }

    #[test]
    fn emails_are_consistent_lowercase_and_reserved() {
        let f = faker();
        let fake = f.email("Jane.Doe@Shop.co.uk");
        assert_eq!(fake, f.email("jane.doe@shop.co.uk"));
        assert_ne!(fake, f.email("john.doe@shop.co.uk"));
        assert!(fake.starts_with("customer-") && fake.ends_with("@example.com"), "{fake}");
        assert_eq!(fake, fake.to_lowercase());
        assert_ne!(fake, Faker::new([8; 32]).email("jane.doe@shop.co.uk"), "another key, other fakes");
    }

    #[test]
    fn phones_keep_shape_and_country() {
        let f = faker();
        for real in ["+44 7700 900123", "+1-613-555-0142", "07700 900123", "0044 20 7946 0958", "(020) 7946-0958"] {
            let fake = f.personal(Personal::Phone, real).unwrap();
            assert_eq!(fake.len(), real.len(), "{real} → {fake}");
            assert_ne!(fake, real);
            for (a, b) in real.chars().zip(fake.chars()) {
                assert_eq!(a.is_ascii_digit(), b.is_ascii_digit(), "{real} → {fake}");
                if !a.is_ascii_digit() {
                    assert_eq!(a, b);
                }
            }
        }
        assert!(f.personal(Personal::Phone, "+44 7700 900123").unwrap().starts_with("+44 "));
        assert!(f.personal(Personal::Phone, "+1-613-555-0142").unwrap().starts_with("+1-"));
        assert!(f.personal(Personal::Phone, "+353 1 234 5678").unwrap().starts_with("+353 "));
        assert!(f.personal(Personal::Phone, "0044 20 7946 0958").unwrap().starts_with("0044 "));
        assert_eq!(
            f.personal(Personal::Phone, "+447700900123").unwrap()[3..],
            f.personal(Personal::Phone, "+44 7700 900123").unwrap().replace(' ', "")[3..]
        );
        assert_eq!(f.personal(Personal::Phone, "n/a"), None);
    }

    #[test]
    fn phones_in_text_are_marked_fakes() {
        let f = faker();
        for real in ["+44 7911 123456", "(020) 7946-0958", "415-867-5309", "+49 30 901820"] {
            let fake = f.phone_in_text(real).unwrap();
            assert_eq!(fake.len(), real.len(), "{real} → {fake}");
            assert!(is_text_phone_fake(&fake), "{real} → {fake}");
            assert!(!is_text_phone_fake(real), "{real}");
            assert_eq!(fake, f.phone_in_text(real).unwrap());
        }
        assert!(f.phone_in_text("+44 7911 123456").unwrap().starts_with("+44 0000 00"));
    }

    #[test]
    fn names_are_consistent_word_by_word() {
        let f = faker();
        let first = f.personal(Personal::FirstName, "Zoë").unwrap();
        let last = f.personal(Personal::LastName, "Ångström-Łukasiewicz").unwrap();
        assert_eq!(f.personal(Personal::FullName, "Zoë Ångström-Łukasiewicz").unwrap(), format!("{first} {last}"));
        assert!(FIRST_NAMES.contains(&first.as_str()));
        assert!(last.contains('-'));
        assert_eq!(
            f.personal(Personal::FirstName, "JANE").unwrap(),
            f.personal(Personal::FirstName, "Jane").unwrap().to_uppercase()
        );
        assert_eq!(f.personal(Personal::FullName, "  "), None);
    }

    #[test]
    fn streets_and_ips() {
        let f = faker();
        let street = f.personal(Personal::Street, "12 Rue de l'Église").unwrap();
        assert_eq!(street, f.personal(Personal::Street, "12  rue de l'église ").unwrap());
        let (number, rest) = street.split_once(' ').unwrap();
        assert!(number.parse::<u16>().is_ok() && rest.ends_with(" Street"), "{street}");

        let public = IpAddr::V4(Ipv4Addr::new(81, 2, 69, 160));
        let fake = f.ip(public).unwrap();
        assert!(matches!(fake, IpAddr::V4(v4) if v4.is_documentation()), "{fake}");
        assert_eq!(f.ip(fake), None, "fakes stay");
        assert_eq!(f.ip(IpAddr::V4(Ipv4Addr::LOCALHOST)), None);
        assert_eq!(f.ip(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))), None);
        let v6 = f.ip(IpAddr::V6(Ipv6Addr::new(0x2a00, 0x1450, 0x4009, 0x81f, 0, 0, 0, 0x200e))).unwrap();
        assert!(matches!(v6, IpAddr::V6(a) if a.segments()[..2] == DOC_V6_PREFIX), "{v6}");
        assert_eq!(f.ip(IpAddr::V6(Ipv6Addr::LOCALHOST)), None);
    }
}

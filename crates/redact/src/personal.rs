//! Checks that tell personal data with a check digit — card numbers, IBANs — from other runs of
//! digits and capitals (order ids, SKUs), so the patterns that find them do not flag ids.

/// A card number: 13 to 19 digits in groups (15 or 16 in one run), a card network's prefix
/// (Visa, Mastercard, American Express, Discover) and a valid Luhn check digit.
pub(super) fn card_number(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    let prefix = |p: &str| text.starts_with(p);
    let network = prefix("4")
        || ["51", "52", "53", "54", "55", "22", "23", "24", "25", "26", "27", "34", "37", "6011", "65"]
            .iter()
            .any(|p| prefix(p));
    // Written without separators, only the common lengths (American Express 15, the rest 16):
    // a record id is a run of digits too.
    let grouped = text.contains([' ', '-']);
    let length = if grouped { (13..=19).contains(&digits.len()) } else { matches!(digits.len(), 15 | 16) };
    if !length || !network || digits.iter().all(|d| *d == digits[0]) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10)
}

/// An IBAN: 15 to 34 characters whose ISO 13616 check (mod 97) holds.
pub(super) fn iban(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, rest) = compact.split_at(4);
    let mut remainder = 0u32;
    for c in rest.chars().chain(head.chars()) {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        remainder = if value < 10 { (remainder * 10 + value) % 97 } else { (remainder * 100 + value) % 97 };
    }
    remainder == 1
}

/// A US Social Security number that could be issued: area not 000, 666 or 9xx, group not 00,
/// serial not 0000.
pub(super) fn ssn(text: &str) -> bool {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 9 {
        return false;
    }
    let (area, group, serial) = (&digits[..3], &digits[3..5], &digits[5..]);
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// A UK National Insurance number's prefix: not one of the administrative prefixes that are
/// never issued, and no `O` second (HMRC's own example `QQ 12 34 56 C` counts: it is the shape
/// forms print).
pub(super) fn nino(text: &str) -> bool {
    let prefix: String = text.chars().take(2).collect::<String>().to_ascii_uppercase();
    !prefix.ends_with('O') && !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&prefix.as_str())
}

/// A national or tax id after its label: at least eight letters and digits, four of them digits
/// (India's PAN has four), not one digit repeated (`000000000` is a placeholder).
pub(super) fn national_id(text: &str) -> bool {
    let digits: Vec<char> = text.chars().filter(char::is_ascii_digit).collect();
    let chars = text.chars().filter(char::is_ascii_alphanumeric).count();
    chars >= 8 && digits.len() >= 4 && digits.iter().any(|d| *d != digits[0])
}

#[cfg(test)]
mod tests {
    use crate::LintKind;
    use crate::tests::lint;

    #[test]
    fn card_numbers_and_ibans_in_text_but_not_ids() {
        // Published test numbers of the card networks and the IBAN registry's example.
        for text in [
            "card 4111 1111 1111 1111 on file",
            "\"note\": \"pay with 5555-5555-5555-4444\"",
            "amex 3782 822463 10005",
            "4012888888881881",
            "IBAN GB82 WEST 1234 5698 7654 32 please",
            "iban: DE89370400440532013000",
        ] {
            let found = lint(text, &[]);
            assert_eq!(found.iter().map(|f| f.kind).collect::<Vec<_>>(), [LintKind::PersonalData], "{text}: {found:?}");
            assert!(
                !found[0].message.contains("1111 1111") && !found[0].message.contains("WEST 1234"),
                "{}",
                found[0].message
            );
        }
        for text in [
            "\"id\": 820982911946154508",
            "\"id\": 6500450003002",
            "gid://shopify/Order/4111111111111111",
            "00000000-0000-4000-8000-000000000001",
            "4111 1111 1111 1112",
            "GB82 WEST 1234 5698 7654 33",
            "SKU-4111111111111111",
            "1.4111111111111111",
        ] {
            assert_eq!(lint(text, &[]), [], "{text}");
        }
    }

    /// Planted fake data: UK drama numbers (Ofcom), a North American number in the unassigned
    /// area code 555, made-up names, a Social Security number and a National Insurance number of
    /// the shapes published as examples.
    #[test]
    fn phones_people_and_national_ids_in_free_text() {
        let found = |text: &str| lint(text, &[]).into_iter().map(|f| (f.kind, f.message)).collect::<Vec<_>>();
        for (text, kind, shown) in [
            (r#"{"memo": "Call Tom Harhar on +44 7700 900461 after 5"}"#, LintKind::PersonName, "`Tom …`"),
            (r#"{"memo": "Call Tom Harhar on +44 7700 900461 after 5"}"#, LintKind::PersonalData, "`+44 …`"),
            ("note: ring (555) 234-5678 first", LintKind::PersonalData, "`(555…`"),
            (r#""note": "{\"phone\": \"call back on 020 7946 0321\"}""#, LintKind::PersonalData, "`020 …`"),
            ("<Notes>Dear Mrs Quenby, your order</Notes>", LintKind::PersonName, "`Quen…`"),
            ("customer SSN: 078-05-1120 on file", LintKind::PersonalData, "`078-…`"),
            ("NI number QQ 12 34 56 C", LintKind::PersonalData, "`QQ 1…`"),
            ("Passport No: X12345678", LintKind::PersonalData, "`X123…`"),
            (r#"{"note": "tax id 912-34-5678"}"#, LintKind::PersonalData, "`912-…`"),
            ("Aadhaar: 2345 6789 0123", LintKind::PersonalData, "`2345…`"),
            ("PAN ABCDE1234F", LintKind::PersonalData, "`ABCD…`"),
            ("SIN 046 454 286", LintKind::PersonalData, "`046 …`"),
            ("<Notes>BSN 111222333</Notes>", LintKind::PersonalData, "`1112…`"),
        ] {
            let all = found(text);
            assert!(all.iter().any(|(k, m)| *k == kind && m.ends_with(shown)), "{text}: {all:?}");
        }
        // Whole values of phone fields (faked by the redactor in their own format), ids, dates,
        // amounts, SKUs, business words after `call`, and the redactor's own fakes pass.
        for text in [
            r#"{"phone": "+44 7700 900461"}"#,
            "phone: 020 7946 0321",
            r#"{"id": 820982911946154508, "created_at": "2025-01-15T12:00:00+00:00", "total": "1234.50"}"#,
            "SKU 100-20-3000, part 415.867.53",
            "Call Customer Services, contact Support Team, Dear Customer",
            "note: call +44 0000 004821 or 000 0000 0321 before 5",
            "Call Alex Abbott, Mr Vance",
            "ticket 078-05-1120",
            "passport photo, tin of paint 12 pack, pan 20cm",
            "passport: 000000000",
            "since 2024-10 the refunds/create webhook leaves shipping out",
            "tinned 12345678, panel 2024-10-01, basin 20240101",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }

    #[test]
    fn aws_key_pairs_are_found_whole() {
        let pair = format!("AKIA{}:{}", "Q".repeat(16), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        let found = lint(&format!("creds=\"{pair}\""), &[]);
        assert_eq!((found.len(), found[0].len), (1, pair.len()), "{found:?}");
    }
}

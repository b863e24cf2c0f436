//! Checks that tell personal data with a check digit — card numbers, IBANs — from other runs of
//! digits and capitals (order ids, SKUs), so the patterns that find them do not flag ids.

/// A card number: 13 to 19 digits in groups (15 or 16 in one run), a card network's prefix
/// (Visa, Mastercard, American Express, Discover) and a valid Luhn check digit.
pub(super) fn card_number(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    let prefix = |p: &str| text.starts_with(p);
    let network = prefix("4") || ["51", "52", "53", "54", "55", "22", "23", "24", "25", "26", "27", "34", "37", "6011", "65"].iter().any(|p| prefix(p));
    // Written without separators, only the common lengths (American Express 15, the rest 16):
    // a record id is a run of digits too.
    let grouped = text.contains([' ', '-']);
    let length = if grouped { (13..=19).contains(&digits.len()) } else { matches!(digits.len(), 15 | 16) };
    if !length || !network || digits.iter().all(|d| *d == digits[0]) {
        return false;
    }
    let sum: u32 = digits.iter().rev().enumerate().map(|(i, &d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }).sum();
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

#[cfg(test)]
mod tests {
    use crate::{LintKind, lint};

    #[test]
    fn card_numbers_and_ibans_in_text_but_not_ids() {
        // Published test numbers of the card networks and the IBAN registry's example.
        for text in ["card 4111 1111 1111 1111 on file", "\"note\": \"pay with 5555-5555-5555-4444\"", "amex 3782 822463 10005", "4012888888881881", "IBAN GB82 WEST 1234 5698 7654 32 please", "iban: DE89370400440532013000"] {
            let found = lint(text, &[]);
            assert_eq!(found.iter().map(|f| f.kind).collect::<Vec<_>>(), [LintKind::PersonalData], "{text}: {found:?}");
            assert!(!found[0].message.contains("1111 1111") && !found[0].message.contains("WEST 1234"), "{}", found[0].message);
        }
        for text in ["\"id\": 820982911946154508", "\"id\": 6500450003002", "gid://shopify/Order/4111111111111111", "00000000-0000-4000-8000-000000000001", "4111 1111 1111 1112", "GB82 WEST 1234 5698 7654 33", "SKU-4111111111111111", "1.4111111111111111"] {
            assert_eq!(lint(text, &[]), [], "{text}");
        }
    }

    #[test]
    fn aws_key_pairs_are_found_whole() {
        let pair = format!("AKIA{}:{}", "Q".repeat(16), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        let found = lint(&format!("creds=\"{pair}\""), &[]);
        assert_eq!((found.len(), found[0].len), (1, pair.len()), "{found:?}");
    }
}

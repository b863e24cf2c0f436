//! Edits to a JSON text that keep everything else as it was written — key order, spacing, number
//! formats — located by the parser's span index: remove a member, rename a key, rewrite a string.

use harness_expr::Seg;
use harness_syntax::json::Spans;

/// The pointers of the object members `path` (`line_items[].sku`) names below `prefix` (`/body`
/// in an envelope, `` for a bare body), last in the text first, so edits keep earlier spans.
pub(crate) fn members(text: &str, prefix: &str, path: &[Seg]) -> Vec<String> {
    let spans = Spans::of(text);
    let mut found: Vec<(usize, String)> = spans
        .members()
        .filter(|p| p.strip_prefix(prefix).is_some_and(|rest| names(rest, path)))
        .filter_map(|p| Some((spans.key(p)?.offset, p.to_string())))
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.into_iter().map(|(_, p)| p).collect()
}

fn names(pointer: &str, path: &[Seg]) -> bool {
    let segs: Vec<String> = pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
    segs.len() == path.len()
        && segs.iter().zip(path).all(|(s, p)| match p {
            Seg::Key(k) => s == k,
            Seg::Each => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
            _ => false,
        })
}

/// `text` without the member at `pointer`, and without the comma that separated it.
pub(crate) fn remove(text: &str, pointer: &str) -> String {
    let spans = Spans::of(text);
    let (Some(key), Some(value)) = (spans.key(pointer), spans.value(pointer)) else { return text.to_string() };
    let bytes = text.as_bytes();
    let (mut start, mut end) = (key.offset, value.offset + value.len);
    let after = skip_space(bytes, end);
    if bytes.get(after) == Some(&b',') {
        // `"a": 1, "gone": 2, "b": 3` → `"a": 1, "b": 3`
        end = skip_space(bytes, after + 1);
    } else if let Some(comma) =
        (0..start).rev().find(|i| !bytes[*i].is_ascii_whitespace()).filter(|i| bytes[*i] == b',')
    {
        // The last member: drop the comma before it, keep the line break before the brace.
        start = comma;
    }
    format!("{}{}", &text[..start], &text[end..])
}

/// `text` with the key of the member at `pointer` renamed.
pub(crate) fn rename(text: &str, pointer: &str, to: &str) -> String {
    let Some(key) = Spans::of(text).key(pointer) else { return text.to_string() };
    let quoted = serde_json::to_string(to).expect("strings serialise");
    format!("{}{quoted}{}", &text[..key.offset], &text[key.offset + key.len..])
}

/// `text` with the string at `pointer` replaced by `edit` of it.
pub(crate) fn edit_string(text: &str, pointer: &str, edit: impl Fn(&str) -> String) -> String {
    let Some(span) = Spans::of(text).value(pointer) else { return text.to_string() };
    let Ok(old) = serde_json::from_str::<String>(&text[span.offset..span.offset + span.len]) else {
        return text.to_string();
    };
    let new = edit(&old);
    if new == old {
        return text.to_string();
    }
    let quoted = serde_json::to_string(&new).expect("strings serialise");
    format!("{}{quoted}{}", &text[..span.offset], &text[span.offset + span.len..])
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness_analysis::diff::parse_path as path;

    #[test]
    fn members_are_removed_with_their_comma_and_nothing_else_moves() {
        let text = "{\n  \"id\": 1,\n  \"checkout_id\": 5,\n  \"lines\": [{\"sku\": \"A\", \"n\": 2}, {\"n\": 3, \"sku\": \"B\"}]\n}\n";
        let mut out = text.to_string();
        for p in members(&out, "", &path("checkout_id")) {
            out = remove(&out, &p);
        }
        assert_eq!(out, "{\n  \"id\": 1,\n  \"lines\": [{\"sku\": \"A\", \"n\": 2}, {\"n\": 3, \"sku\": \"B\"}]\n}\n");
        for p in members(&out, "", &path("lines[].sku")) {
            out = remove(&out, &p);
        }
        assert_eq!(out, "{\n  \"id\": 1,\n  \"lines\": [{\"n\": 2}, {\"n\": 3}]\n}\n");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["lines"][1]["n"], 3);
    }

    #[test]
    fn the_last_member_takes_the_comma_before_it() {
        assert_eq!(remove("{\"a\": 1,\n \"b\": 2\n}", "/b"), "{\"a\": 1\n}");
        assert_eq!(remove("{\"only\": 1}", "/only"), "{}");
    }

    #[test]
    fn keys_are_renamed_in_place_and_strings_edited() {
        let text = "{\"body\": {\"variants\": [{\"barcode\": \"0123\"}]}, \"headers\": {\"Link\": \"</admin/api/2026-01/x>\"}}";
        let mut out = text.to_string();
        for p in members(&out, "/body", &path("variants[].barcode")) {
            out = rename(&out, &p, "barcodes");
        }
        out = edit_string(&out, "/headers/Link", |s| s.replace("/2026-01/", "/2026-04/"));
        assert_eq!(
            out,
            "{\"body\": {\"variants\": [{\"barcodes\": \"0123\"}]}, \"headers\": {\"Link\": \"</admin/api/2026-04/x>\"}}"
        );
    }
}

//! Percent-encoding as query strings, form bodies and OAuth 1.0 signatures need it, and URLs
//! taken apart.

/// `x%20y` (also `x+y`) decoded, as a query string or form body holds it.
pub fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// Decode `a=1&b=x%20y` (also `+` as space), as in query strings and form bodies.
pub fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// `a=1&b=x%20y`, in the given order.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// RFC 3986 percent-encoding (unreserved characters kept), as OAuth 1.0 signatures require.
pub fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// `https://host:443/a/b?c=d#e` → (`host:443`, `/a/b`, `c=d`): the host, the path (`/` when the
/// URL has none) and the query, the fragment dropped (it is never sent).
pub fn split_url(url: &str) -> (&str, &str, Option<&str>) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (host, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let path = path.split('#').next().unwrap_or(path);
    match path.split_once('?') {
        Some((path, query)) => (host, path, Some(query)),
        None => (host, path, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_round_trip() {
        let pairs = vec![("q".to_string(), "a b&c".to_string()), ("n".to_string(), "1".to_string())];
        assert_eq!(encode_query(&pairs), "q=a%20b%26c&n=1");
        assert_eq!(
            form_pairs("q=a+b%26c&n=1&flag"),
            vec![("q".into(), "a b&c".into()), ("n".into(), "1".into()), ("flag".into(), String::new())]
        );
    }

    #[test]
    fn urls_split_into_host_path_and_query() {
        assert_eq!(
            split_url("https://acme.myshopify.com/admin/api/2026-01/orders.json?status=any#x"),
            ("acme.myshopify.com", "/admin/api/2026-01/orders.json", Some("status=any"))
        );
        assert_eq!(
            split_url("https://shop.myshopify.com/admin/api/2025-01/orders.json?limit=50&page_info=abc"),
            ("shop.myshopify.com", "/admin/api/2025-01/orders.json", Some("limit=50&page_info=abc"))
        );
        assert_eq!(split_url("http://127.0.0.1:4000/x"), ("127.0.0.1:4000", "/x", None));
        assert_eq!(split_url("http://127.0.0.1:8080"), ("127.0.0.1:8080", "/", None));
        assert_eq!(split_url("/relative?a=1"), ("", "/relative", Some("a=1")));
    }
}

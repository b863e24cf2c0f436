//! Just enough DER reading to find the key inside PKCS#8, SubjectPublicKeyInfo
//! and X.509 structures. Every read is bounds-checked and returns `None` on
//! anything unexpected, so hostile bytes can never cause a panic.

pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
/// `[0]` constructed, as used for the X.509 version field.
pub const CONTEXT_0: u8 = 0xa0;

pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads one element, which must carry `tag`, and returns its contents.
    pub(crate) fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&found, after_tag) = self.rest.split_first()?;
        // Multi-byte tags (low bits all set) never occur in the structures we read.
        if found != tag || found & 0x1f == 0x1f {
            return None;
        }
        let (&first, after_len) = after_tag.split_first()?;
        let (len, after_len) = if first < 0x80 {
            (usize::from(first), after_len)
        } else {
            // Long form; 0x80 alone would be BER's indefinite length, not DER.
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || after_len.len() < count {
                return None;
            }
            let (len_bytes, after) = after_len.split_at(count);
            let len = len_bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, after)
        };
        if after_len.len() < len {
            return None;
        }
        let (contents, rest) = after_len.split_at(len);
        self.rest = rest;
        Some(contents)
    }

    /// Reads an element with `tag` and checks that nothing follows it.
    pub(crate) fn read_last(mut self, tag: u8) -> Option<&'a [u8]> {
        let contents = self.read(tag)?;
        self.rest.is_empty().then_some(contents)
    }

    /// Skips one element whatever its tag.
    pub(crate) fn skip(&mut self) -> Option<()> {
        let tag = self.peek_tag()?;
        self.read(tag).map(drop)
    }
}

/// Reads `SEQUENCE { OID algorithm, ANY parameters OPTIONAL }`, returning the
/// algorithm OID's contents and the raw parameters (tag included).
pub(crate) fn algorithm_identifier<'a>(r: &mut Reader<'a>) -> Option<(&'a [u8], &'a [u8])> {
    let body = r.read(SEQUENCE)?;
    let mut inner = Reader::new(body);
    let oid = inner.read(OID)?;
    Some((oid, inner.rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut r = Reader::new(&[0x04, 0x01, 0xaa, 0x04, 0x81, 0x01, 0xbb]);
        assert_eq!(r.read(OCTET_STRING), Some(&[0xaa][..]));
        assert_eq!(r.read(OCTET_STRING), Some(&[0xbb][..]));
        assert_eq!(r.peek_tag(), None);
    }

    #[test]
    fn refuses_truncation_indefinite_length_and_wrong_tag() {
        assert_eq!(Reader::new(&[0x04, 0x02, 0xaa]).read(OCTET_STRING), None);
        assert_eq!(Reader::new(&[0x30, 0x80, 0x00, 0x00]).read(SEQUENCE), None);
        assert_eq!(Reader::new(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]).read(OCTET_STRING), None);
        assert_eq!(Reader::new(&[0x02, 0x01, 0x00]).read(SEQUENCE), None);
        assert_eq!(Reader::new(&[0x04, 0x00, 0x00]).read_last(OCTET_STRING), None);
    }
}

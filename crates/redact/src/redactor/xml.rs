//! XML and SOAP bodies, redacted by element and attribute name.
//!
//! The document is read event by event and only the spans that change are rewritten, so
//! declarations, namespaces, whitespace and untouched entities stay byte for byte. Peoplevox
//! specifics: `CsvData` and `Detail` hold CSV (redacted by column header), and the `Detail` of an
//! Authenticate answer is `clientId,sessionId`, of which only the session goes.

use std::ops::Range;

use quick_xml::escape::{escape, partial_escape, resolve_predefined_entity};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::{Redactor, Seg, fields, patterns};

/// The body is not well-formed XML (or uses entities it does not define): it is scanned as text.
struct NotXml;

impl Redactor {
    /// The redacted document, or `None` when nothing changed.
    pub(super) fn xml(&mut self, text: &str) -> Option<String> {
        match self.xml_edits(text) {
            Ok(edits) => (!edits.is_empty()).then(|| patterns::splice(text, edits)),
            Err(NotXml) => self.scan(text),
        }
    }

    fn xml_edits(&mut self, text: &str) -> Result<Vec<(Range<usize>, String)>, NotXml> {
        let mut reader = Reader::from_str(text);
        let position = |reader: &Reader<&[u8]>| usize::try_from(reader.buffer_position()).map_err(|_| NotXml);
        let mut open: Vec<String> = Vec::new();
        let mut edits = Vec::new();
        // The text between two tags arrives in pieces (text, entity references, CDATA sections):
        // the span and decoded content of the run so far.
        let mut run: Option<(Range<usize>, String)> = None;
        loop {
            let start = position(&reader)?;
            let event = reader.read_event().map_err(|_| NotXml)?;
            let end = position(&reader)?;
            let piece = match &event {
                Event::Text(t) => Some(t.xml10_content().into_owned()),
                Event::CData(c) => Some(c.xml10_content().into_owned()),
                Event::GeneralRef(r) => Some(resolve(r)?),
                _ => None,
            };
            if let Some(piece) = piece {
                let (span, content) = run.get_or_insert_with(|| (start..start, String::new()));
                span.end = end;
                content.push_str(&piece);
                continue;
            }
            if let Some((span, content)) = run.take()
                && let Some(redacted) = self.element_text(&open, &content)
            {
                edits.push((span, partial_escape(redacted.as_str()).into_owned()));
            }
            match event {
                Event::Start(tag) => {
                    if let Some(redacted) = self.tag(&tag, &open, false)? {
                        edits.push((start..end, redacted));
                    }
                    open.push(local(tag.name().into_inner()).to_string());
                }
                Event::Empty(tag) => {
                    if let Some(redacted) = self.tag(&tag, &open, true)? {
                        edits.push((start..end, redacted));
                    }
                }
                Event::End(_) => {
                    open.pop().ok_or(NotXml)?;
                }
                Event::Comment(comment) => {
                    if let Some(redacted) = self.scan(&comment) {
                        edits.push((start..end, format!("<!--{redacted}-->")));
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if open.is_empty() { Ok(edits) } else { Err(NotXml) }
    }

    /// The text content of the innermost of the `open` elements, redacted.
    fn element_text(&mut self, open: &[String], content: &str) -> Option<String> {
        if content.trim().is_empty() {
            return None;
        }
        let path: Vec<Seg> = open.iter().map(|name| Seg::Key(name)).collect();
        let element = open.last().map(|name| fields::normalize(name)).unwrap_or_default();
        match element.as_str() {
            "detail" if open.iter().any(|name| fields::normalize(name).starts_with("authenticate")) => {
                match content.split_once(',') {
                    // The client id is the account name, which requests and mappings use.
                    Some((client, session)) => {
                        self.credential("SessionId", session).map(|redacted| format!("{client},{redacted}"))
                    }
                    None => self.scan(content),
                }
            }
            "csvdata" | "detail" => self.table(content, &path),
            _ => self.scalar(&path, content),
        }
    }

    /// The start tag rewritten when one of its attributes changed; namespace declarations stay.
    fn tag(&mut self, tag: &BytesStart, open: &[String], empty: bool) -> Result<Option<String>, NotXml> {
        let name = tag.name().into_inner();
        let mut path: Vec<Seg> = open.iter().map(|name| Seg::Key(name)).collect();
        path.push(Seg::Key(local(name)));
        let mut changed = false;
        let mut attributes = String::new();
        for attribute in tag.attributes() {
            let attribute = attribute.map_err(|_| NotXml)?;
            let key = attribute.key.into_inner();
            let value = attribute.normalized_value(XmlVersion::Implicit1_0).map_err(|_| NotXml)?;
            let redacted = if key == "xmlns" || key.starts_with("xmlns:") {
                None
            } else {
                path.push(Seg::Key(local(key)));
                let redacted = self.scalar(&path, &value);
                path.pop();
                redacted
            };
            changed |= redacted.is_some();
            attributes.push_str(&format!(" {key}=\"{}\"", escape(redacted.as_deref().unwrap_or(&value))));
        }
        Ok(changed.then(|| format!("<{name}{attributes}{}>", if empty { "/" } else { "" })))
    }
}

/// `&amp;`, `&#233;` → their text.
fn resolve(reference: &BytesRef) -> Result<String, NotXml> {
    match reference.resolve_char_ref() {
        Ok(Some(c)) => Ok(c.to_string()),
        Ok(None) => resolve_predefined_entity(reference).map(str::to_string).ok_or(NotXml),
        Err(_) => Err(NotXml),
    }
}

/// `soap:Envelope` → `Envelope`.
fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

//! A small XML element tree parsed with quick-xml: enough to read SOAP envelopes, match on their
//! elements and turn them into comparable snapshot bodies.

use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};

pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// An XML element, namespaces reduced to local names (the SOAP services mocked use one namespace
/// each).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Follow a path of child names.
    pub fn find(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.find(path).map(|e| e.text.as_str())
    }

    /// The first element of the SOAP body: the operation of a request, or its response.
    pub fn operation(&self) -> Option<&Element> {
        self.child("Body")?.children.first()
    }
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_string()
}

/// How deeply elements may nest: far more than any SOAP message, few enough that everything
/// walking the tree recursively (comparing, dropping, printing it) stays well within a stack.
pub const MAX_DEPTH: usize = 256;

/// XML [`parse`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("XML error at byte {at}: {reason}")]
    Syntax { at: u64, reason: String },
    #[error("XML error at byte {at}: elements nested deeper than {MAX_DEPTH} levels")]
    TooDeep { at: u64 },
    #[error("unbalanced closing tag")]
    Unbalanced,
    #[error("XML character reference: {0}")]
    CharRef(String),
    #[error("unknown XML entity &{0};")]
    UnknownEntity(String),
    #[error("unclosed element <{0}>")]
    Unclosed(String),
    #[error("no root element")]
    NoRoot,
}

/// Parse an XML document into its root element.
pub fn parse(xml: &str) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| XmlError::Syntax { at: reader.buffer_position(), reason: e.to_string() })?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_none() => {
                let attrs = start
                    .attributes()
                    .flatten()
                    .filter(|a| !a.key.as_ref().starts_with("xmlns"))
                    .map(|a| {
                        (
                            local(a.key.as_ref()),
                            a.normalized_value(XmlVersion::Implicit1_0).map(|v| v.into_owned()).unwrap_or_default(),
                        )
                    })
                    .collect();
                let element = Element { name: local(start.name().as_ref()), attrs, ..Element::default() };
                if empty {
                    close(&mut stack, &mut root, element);
                } else if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep { at: reader.buffer_position() });
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or(XmlError::Unbalanced)?;
                close(&mut stack, &mut root, element);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    match r.resolve_char_ref().map_err(|e| XmlError::CharRef(e.to_string()))? {
                        Some(c) => top.text.push(c),
                        None => {
                            let name = r.into_inner();
                            let text = quick_xml::escape::resolve_predefined_entity(&name)
                                .ok_or_else(|| XmlError::UnknownEntity(name.to_string()))?;
                            top.text.push_str(text);
                        }
                    }
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.into_inner());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Unclosed(stack.last().map_or("", |e| e.name.as_str()).to_string()));
    }
    root.ok_or(XmlError::NoRoot)
}

fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn nesting_is_bounded() {
        let nested = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(super::parse(&nested(super::MAX_DEPTH)).is_ok());
        let err = super::parse(&nested(50_000)).unwrap_err();
        assert!(
            matches!(err, super::XmlError::TooDeep { .. }) && err.to_string().contains("nested deeper than 256 levels"),
            "{err}"
        );
    }
}

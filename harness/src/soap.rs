//! SOAP 1.1 envelopes and the CSV Peoplevox carries inside them: a small element tree parsed with
//! quick-xml, builders for requests and IntegrationResponse answers, and CSV rows keyed by header.

use quick_xml::{Reader, XmlVersion};
use quick_xml::events::Event;
use serde_json::{Map, Value};

pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const PVX_NS: &str = "http://www.peoplevox.net/";

/// An XML element, namespaces reduced to local names (Peoplevox uses one namespace throughout).
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

/// Parse an XML document into its root element.
pub fn parse(xml: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_event().map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_none() => {
                let attrs = start
                    .attributes()
                    .flatten()
                    .filter(|a| !a.key.as_ref().starts_with("xmlns"))
                    .map(|a| (local(a.key.as_ref()), a.normalized_value(XmlVersion::Implicit1_0).map(|v| v.into_owned()).unwrap_or_default()))
                    .collect();
                let element = Element { name: local(start.name().as_ref()), attrs, ..Element::default() };
                if empty {
                    close(&mut stack, &mut root, element);
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or("unbalanced closing tag")?;
                close(&mut stack, &mut root, element);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    match r.resolve_char_ref().map_err(|e| format!("XML character reference: {e}"))? {
                        Some(c) => top.text.push(c),
                        None => {
                            let name = r.into_inner();
                            let text = quick_xml::escape::resolve_predefined_entity(&name).ok_or_else(|| format!("unknown XML entity &{name};"))?;
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
        return Err(format!("unclosed element <{}>", stack.last().map_or("", |e| e.name.as_str())));
    }
    root.ok_or_else(|| "no root element".to_string())
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

/// A SOAP 1.1 request envelope for a Peoplevox operation. `params` is the XML inside the
/// operation element; `session` is `(client_id, session_id)` for the `UserSessionCredentials` header.
pub fn request_envelope(operation: &str, params: &str, session: Option<(&str, &str)>) -> String {
    let header = match session {
        Some((client, session)) => format!(
            "<soap:Header><UserSessionCredentials xmlns=\"{PVX_NS}\"><UserId>0</UserId><ClientId>{}</ClientId><SessionId>{}</SessionId></UserSessionCredentials></soap:Header>",
            escape(client),
            escape(session)
        ),
        None => String::new(),
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP_NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">{header}<soap:Body><{operation} xmlns=\"{PVX_NS}\">{params}</{operation}></soap:Body></soap:Envelope>"
    )
}

/// One status line of a SaveData answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub reference: String,
    pub success: bool,
}

/// Peoplevox's `IntegrationResponse` inside `<{operation}Response><{operation}Result>`.
pub fn integration_response(operation: &str, response_id: i32, total: usize, detail: &str, statuses: &[Status]) -> String {
    let statuses = if statuses.is_empty() {
        String::new()
    } else {
        let items: String = statuses
            .iter()
            .map(|s| format!("<IntegrationStatusResponse><Reference>{}</Reference><Status>{}</Status></IntegrationStatusResponse>", escape(&s.reference), if s.success { "Success" } else { "Error" }))
            .collect();
        format!("<Statuses>{items}</Statuses>")
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP_NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body><{operation}Response xmlns=\"{PVX_NS}\"><{operation}Result><ResponseId>{response_id}</ResponseId><TotalCount>{total}</TotalCount><Detail>{}</Detail>{statuses}</{operation}Result></{operation}Response></soap:Body></soap:Envelope>",
        escape(detail)
    )
}

/// A SOAP 1.1 fault, as ASP.NET web services send for malformed requests (with HTTP 500).
pub fn fault(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP_NS}\"><soap:Body><soap:Fault><faultcode>soap:{code}</faultcode><faultstring>{}</faultstring><detail /></soap:Fault></soap:Body></soap:Envelope>",
        escape(message)
    )
}

/// The result of a parsed IntegrationResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationResult {
    pub response_id: i32,
    pub total: usize,
    pub detail: String,
    pub statuses: Vec<Status>,
}

/// Read the IntegrationResponse out of a response envelope.
pub fn read_result(xml: &str) -> Result<IntegrationResult, String> {
    let envelope = parse(xml)?;
    let op = envelope.operation().ok_or("no SOAP body")?;
    if op.name == "Fault" {
        return Err(format!("SOAP fault: {}", op.text_at(&["faultstring"]).unwrap_or("")));
    }
    let result = op.children.first().ok_or("empty SOAP response")?;
    let statuses = result
        .child("Statuses")
        .map(|s| {
            s.children
                .iter()
                .map(|st| Status { reference: st.text_at(&["Reference"]).unwrap_or("").to_string(), success: st.text_at(&["Status"]) == Some("Success") })
                .collect()
        })
        .unwrap_or_default();
    Ok(IntegrationResult {
        response_id: result.text_at(&["ResponseId"]).and_then(|t| t.trim().parse().ok()).ok_or("no ResponseId")?,
        total: result.text_at(&["TotalCount"]).and_then(|t| t.trim().parse().ok()).unwrap_or(0),
        detail: result.text_at(&["Detail"]).unwrap_or("").to_string(),
        statuses,
    })
}

/// CSV text (header row first) as rows keyed by column header, columns in header order.
pub fn csv_rows(text: &str) -> Result<Vec<Map<String, Value>>, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.trim_start_matches('\n').as_bytes());
    let headers = reader.headers().map_err(|e| format!("CSV header: {e}"))?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("CSV: {e}"))?;
        let mut row = Map::new();
        for (h, v) in headers.iter().zip(record.iter()) {
            row.insert(h.to_string(), Value::String(v.to_string()));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// CSV text from column names and rows of values (quoting as needed).
pub fn csv_text(columns: &[String], rows: &[Vec<String>]) -> String {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let _ = writer.write_record(columns);
    for row in rows {
        let _ = writer.write_record(row);
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip() {
        let xml = request_envelope("GetData", "<getRequest><TemplateName>Despatches</TemplateName></getRequest>", Some(("acme", "s1")));
        let env = parse(&xml).unwrap();
        assert_eq!(env.text_at(&["Header", "UserSessionCredentials", "SessionId"]), Some("s1"));
        assert_eq!(env.operation().unwrap().name, "GetData");
        assert_eq!(env.operation().unwrap().text_at(&["getRequest", "TemplateName"]), Some("Despatches"));
    }

    #[test]
    fn integration_responses_parse() {
        let xml = integration_response("SaveData", 0, 2, "a & b", &[Status { reference: "#1001".into(), success: false }]);
        let r = read_result(&xml).unwrap();
        assert_eq!(r.detail, "a & b");
        assert_eq!(r.statuses, vec![Status { reference: "#1001".into(), success: false }]);
    }

    #[test]
    fn csv_round_trip_with_quotes() {
        let text = csv_text(&["A".into(), "B".into()], &[vec!["x, y".into(), "Zoë".into()]]);
        assert_eq!(text, "A,B\n\"x, y\",Zoë");
        let rows = csv_rows(&text).unwrap();
        assert_eq!(rows[0]["A"], "x, y");
    }
}

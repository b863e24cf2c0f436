//! Request bodies of built-in calls, built from their mappings — JSON, GraphQL, SOAP with CSV
//! inside — and answers read the way `bind` expressions see them.

use bytes::Bytes;
use harness_core::{clock, csv_text, xml};
use harness_expr::{Doc, Scope, Template};
use harness_systems::client::OutgoingRequest;
use harness_systems::{Soap, System, SystemVersion};
use serde_json::{Value, json};

use super::{Call, CallBody};

/// The request `call` makes for one record (`record` converted for jq), stamped with its step.
pub(super) fn build(
    call: &Call,
    step: &str,
    system: &dyn System,
    version: &SystemVersion,
    record: &Doc,
    scope: &Scope,
) -> Result<OutgoingRequest, String> {
    let mut path = call.path.render_path(record, scope).map_err(|m| format!("path: {m}"))?;
    let mut request = OutgoingRequest::new(call.system.clone(), &call.method, String::new());
    for (k, t) in &call.query {
        request.query.push((k.clone(), t.render(record, scope).map_err(|m| format!("query `{k}`: {m}"))?));
    }
    let render = |t: &Template, what: &str| -> Result<Value, String> {
        t.render(record, scope)
            .map(|v| v.unwrap_or(Value::Null))
            .map_err(|e| format!("{what} field `{}`: {}", e.field, e.message))
    };
    match &call.body {
        CallBody::None => {}
        CallBody::Json(t) => {
            request.set_header("Content-Type", "application/json");
            request.body = Bytes::from(serde_json::to_vec(&render(t, "body")?).expect("JSON"));
        }
        CallBody::Graphql { document, variables } => {
            let variables = match variables {
                Some(t) => render(t, "variables")?,
                None => json!({}),
            };
            request.set_header("Content-Type", "application/json");
            request.body =
                Bytes::from(serde_json::to_vec(&json!({"query": document, "variables": variables})).expect("JSON"));
        }
        CallBody::Soap { operation, params, save } => {
            let soap = system.soap().ok_or_else(|| format!("{} does not speak SOAP", call.system))?;
            let mut body = match params {
                Some(t) => xml_elements(&render(t, "params")?, None, soap),
                None => String::new(),
            };
            if let Some((template, rows, action)) = save {
                let rows = render(rows, "rows")?;
                body.push_str(&format!(
                    "<saveRequest><TemplateName>{}</TemplateName><CsvData>{}</CsvData><Action>{action}</Action></saveRequest>",
                    xml::escape(template),
                    xml::escape(&csv_from_rows(&rows)?)
                ));
            }
            let soap_request = soap.request(version, operation, &body);
            path = soap_request.path.clone();
            request.headers = soap_request.headers;
            request.body = soap_request.body;
        }
    }
    for (k, t) in &call.headers {
        request.set_header(k, t.render(record, scope).map_err(|m| format!("header `{k}`: {m}"))?);
    }
    request.path = path;
    request.set_header(clock::STEP_HEADER, step);
    Ok(request)
}

/// The answer as the `bind` expressions see it: the system's reading where it has one (Peoplevox
/// answers as `{response_id, total, detail, statuses, rows}`), else the JSON body.
pub(super) fn answer(system: &dyn System, body: &[u8]) -> Value {
    system.answer_value(body).unwrap_or_else(|| serde_json::from_slice(body).unwrap_or(Value::Null))
}

/// Nested elements from a JSON object; scalars become text. Children of the service's request types
/// come in the WSDL's sequence order (an XML serializer may insist on it), others as mapped.
fn xml_elements(v: &Value, parent: Option<&str>, soap: &dyn Soap) -> String {
    match v {
        Value::Object(o) => {
            let order = parent.map_or(&[][..], |p| soap.element_order(p));
            let rank = |k: &str| order.iter().position(|x| *x == k).unwrap_or(order.len());
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort_by_key(|k| rank(k));
            keys.into_iter().map(|k| format!("<{k}>{}</{k}>", xml_elements(&o[k], Some(k), soap))).collect()
        }
        Value::Array(items) => items.iter().map(|i| xml_elements(i, parent, soap)).collect(),
        Value::String(s) => xml::escape(s),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// CSV from an array of flat objects; columns are the union of their keys (each object's keys come
/// sorted, so the columns do too — Peoplevox reads columns by header, not by position).
fn csv_from_rows(rows: &Value) -> Result<String, String> {
    let rows = rows.as_array().ok_or("rows must be a list of objects")?;
    let mut columns: Vec<String> = Vec::new();
    for row in rows {
        for k in row.as_object().ok_or("each row must be an object")?.keys() {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    let values: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| match row.get(c) {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                })
                .collect()
        })
        .collect();
    Ok(csv_text::csv_text(&columns, &values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_use_first_seen_columns() {
        let rows = json!([{"SalesOrderNumber": "#1001", "ItemCode": "A"}, {"SalesOrderNumber": "#1001", "ItemCode": "B, C", "Qty": 2}]);
        assert_eq!(csv_from_rows(&rows).unwrap(), "ItemCode,SalesOrderNumber,Qty\nA,#1001,\n\"B, C\",#1001,2");
    }
}

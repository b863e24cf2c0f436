//! An account's own record definitions: the OpenAPI 3 document NetSuite's REST metadata catalog
//! answers (`GET /services/rest/record/v1/metadata-catalog?select=salesorder,…` with
//! `Accept: application/swagger+json`), turned into extensions of the request schemas.
//!
//! The built-in schemas already take every standard field as NetSuite does (ids as strings or
//! numbers, any case); an account adds custom fields (`custbody_…`, `custcol_…`, `custentity_…`,
//! `custitem_…`) and fields of features the built-in schemas do not know. So a record's extension
//! holds what its schema lacks, with the account's types: fields, sublists, and the fields of the
//! sublist lines (written into the line's `$defs` entry, where the built-in schema keeps it).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use harness_core::Diagnostic;
use harness_core::clock::VirtualClock;
use harness_syntax::json;
use regex::Regex;
use serde_json::{Map, Value, json};

use super::NetSuite;
use crate::System;
use crate::SystemVersion;
use crate::account::{AccountDocument, AccountRecord, AccountSchemas, FetchFailed};
use crate::client::{AuthError, ClientAuth, ClientUnavailable, HttpClient, HttpError, OutgoingRequest};
use crate::tls::TlsUnavailable;

/// Where the metadata catalog answers.
const CATALOG_PATH: &str = "/services/rest/record/v1/metadata-catalog";

/// How long the account may take to describe its records.
const CATALOG_TIMEOUT: Duration = Duration::from_secs(300);

/// The credentials each authentication method signs with, as the account's `credentials` name them.
fn credentials_for(auth: &str) -> &'static [&'static str] {
    match auth {
        "oauth2" => &["client_id", "certificate_id", "certificate_private_key"],
        "tba" => &["account_id", "consumer_key", "consumer_secret", "token_id", "token_secret"],
        _ => &[],
    }
}

/// Why the account did not describe its records.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("netsuite has no authentication `{0}` (oauth2, tba)")]
    NoSuchAuth(String),
    #[error(transparent)]
    Client(#[from] ClientUnavailable),
    #[error(transparent)]
    Tls(#[from] TlsUnavailable),
    #[error("credentials refused: {0}")]
    Credentials(#[from] AuthError),
    #[error(transparent)]
    Unanswered(#[from] HttpError),
    /// The catalog answered with an error: its status and NetSuite's error code.
    #[error("{} answered {status}: {why}", CATALOG_PATH)]
    Refused { status: u16, why: String },
    #[error("the metadata catalog's answer is not UTF-8 text")]
    NotText,
}

/// Ask the account at `base` for the OpenAPI 3 metadata of `records` (a GET, nothing else),
/// authenticated with `auth` and the credentials of `account`. The error never holds a credential
/// the caller has not masked: it names the status and NetSuite's error code.
async fn fetch(account: Arc<SystemVersion>, auth: &str, base: &str, records: &[String]) -> Result<String, FetchError> {
    let netsuite = NetSuite::new();
    let scheme = netsuite.auth(auth, account.clone(), base.to_string()).ok_or_else(|| FetchError::NoSuchAuth(auth.to_string()))?;
    let auth = ClientAuth::new(scheme);
    // The metadata of a few records takes seconds; of many, minutes (Oracle advises `select`).
    let reqwest = reqwest::Client::builder()
        .timeout(CATALOG_TIMEOUT)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(ClientUnavailable::from)?;
    let mut http = HttpClient::new(reqwest, Arc::new(VirtualClock::default()), CATALOG_TIMEOUT);
    if base.starts_with("https://") {
        http = http.with_tls(crate::tls::connector(Vec::new())?);
    }
    let mut request = OutgoingRequest::new(netsuite.id().clone(), "GET", CATALOG_PATH);
    request.query.push(("select".into(), records.join(",")));
    request.set_header("accept", "application/swagger+json");
    auth.authorize(&http, &mut request).await?;
    let response = http.send(base, &request).await?;
    if !response.is_success() {
        let why = netsuite.error_detail(&response.body).unwrap_or_else(|| "no NetSuite error in the answer".into());
        return Err(FetchError::Refused { status: response.status, why });
    }
    String::from_utf8(response.body.to_vec()).map_err(|_| FetchError::NotText)
}

/// An OpenAPI 3 metadata document, read.
#[derive(Debug)]
struct Metadata {
    /// `components.schemas`: records, sublists, their lines, subrecords.
    schemas: Map<String, Value>,
    /// The records it describes, by name in lower case (`salesorder` → `salesOrder`).
    records: BTreeMap<String, String>,
}

/// Read an OpenAPI 3 metadata document. Not OpenAPI 3, or without `components.schemas`: an error
/// located in the file.
fn read(root: &Path, path: &Path, text: &str) -> Result<Metadata, Diagnostic> {
    let doc = json::parse_value(root, path, text)?;
    let spans = json::Spans::of(text);
    let at = |pointer: &str, message: String| spans.value(pointer).unwrap_or_default().diagnostic(path, text, message).relative_to(root);
    let Some(top) = doc.as_object() else {
        return Err(at("", "not an OpenAPI 3 document: a JSON object is expected (save NetSuite's metadata catalog with `Accept: application/swagger+json`)".into()));
    };
    match top.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.") => {}
        Some(other) => return Err(at("/openapi", format!("not an OpenAPI 3 document: `openapi` is {other}, 3.x expected"))),
        None => {
            let hint = if top.contains_key("swagger") { "a Swagger 2 document" } else if top.contains_key("properties") { "a JSON Schema (Accept: application/schema+json)" } else { "no `openapi` member" };
            return Err(at("", format!("not an OpenAPI 3 document ({hint}): save NetSuite's metadata catalog with `Accept: application/swagger+json`")));
        }
    }
    let schemas = match top.get("components").map(|c| c.get("schemas")) {
        None => return Err(at("", "no `components`: the document describes no record (ask the metadata catalog for the records, `?select=salesorder,customer`)".into())),
        Some(None) => return Err(at("/components", "no `components.schemas`: the document describes no record".into())),
        Some(Some(Value::Object(s))) => s,
        Some(Some(_)) => return Err(at("/components/schemas", "`components.schemas` must be an object of schemas by name".into())),
    };
    let mut out = BTreeMap::new();
    for (name, schema) in schemas {
        // Sublists, their lines, subrecords and selects are named `record-part`; NetSuite's own
        // helper schemas start with `ns`.
        if name.contains('-') || name.starts_with("ns") || name.ends_with("Collection") {
            continue;
        }
        let pointer = format!("/components/schemas/{}", name.replace('~', "~0").replace('/', "~1"));
        match schema.get("properties") {
            Some(Value::Object(_)) => {}
            Some(_) => return Err(at(&format!("{pointer}/properties"), format!("record `{name}`: `properties` must be an object of fields"))),
            None => return Err(at(&pointer, format!("record `{name}` has no `properties`"))),
        }
        out.insert(name.to_ascii_lowercase(), name.clone());
    }
    if out.is_empty() {
        return Err(at("/components/schemas", "`components.schemas` holds no record (only sublists, subrecords and NetSuite's own helper schemas)".into()));
    }
    Ok(Metadata { schemas: schemas.clone(), records: out })
}

impl AccountDocument for Metadata {
    fn describes(&self, record: &str) -> bool {
        self.records.contains_key(record)
    }

    fn extension(&self, record: &str, base: &Value) -> AccountRecord {
        extend_for(&self.schemas, &self.records[record], base)
    }
}

/// Where a record is sent: created or updated at its record path, or transformed from another.
const RECORD_PATH: &str = "/services/rest/record/v1/";

/// NetSuite's accounts describe their records in the REST metadata catalog.
pub(super) struct NetSuiteAccounts;

impl AccountSchemas for NetSuiteAccounts {
    fn records_sent(&self, text: &str) -> Vec<String> {
        static PATH: OnceLock<Regex> = OnceLock::new();
        let path = PATH.get_or_init(|| {
            Regex::new(r"/services/rest/record/v1/([A-Za-z][A-Za-z0-9_]*)|!transform/([A-Za-z][A-Za-z0-9_]*)")
                .expect("a valid pattern")
        });
        path.captures_iter(text)
            .map(|c| c.get(1).or(c.get(2)).map_or("", |m| m.as_str()).to_ascii_lowercase())
            // `metadata-catalog` is not a record.
            .filter(|name| name != "metadata")
            .collect()
    }

    fn record_at(&self, path: &str) -> Option<String> {
        let record = path.strip_prefix(RECORD_PATH)?;
        Some(record.split('/').next().unwrap_or(record).to_ascii_lowercase())
    }

    fn record_noun(&self) -> &'static str {
        "NetSuite record"
    }

    fn record_path(&self) -> &'static str {
        "`/services/rest/record/v1/<record>`"
    }

    fn describer(&self) -> &'static str {
        "the catalog"
    }

    fn ask_for(&self, record: &str) -> String {
        format!("ask the catalog with `?select={record}`")
    }

    fn account_url(&self) -> &'static str {
        "`https://<account>.suitetalk.api.netsuite.com`"
    }

    fn document_path(&self) -> &'static str {
        CATALOG_PATH
    }

    fn credentials_for(&self, auth: &str) -> &'static [&'static str] {
        credentials_for(auth)
    }

    fn fetch<'a>(
        &'a self,
        account: Arc<SystemVersion>,
        auth: &'a str,
        base: &'a str,
        records: &'a [String],
    ) -> Pin<Box<dyn Future<Output = Result<String, FetchFailed>> + Send + 'a>> {
        Box::pin(async move { fetch(account, auth, base, records).await.map_err(|e| FetchFailed(Box::new(e))) })
    }

    fn read(&self, path: &Path, text: &str) -> Result<Box<dyn AccountDocument>, Diagnostic> {
        Ok(Box::new(read(Path::new(""), path, text)?))
    }
}

fn extend_for(doc_schemas: &Map<String, Value>, name: &str, base: &Value) -> AccountRecord {
    let schema = &doc_schemas[name];
    let mut out = AccountRecord { name: name.to_string(), extension: Map::new(), custom_fields: Vec::new(), added_fields: Vec::new(), enumerated: Vec::new() };
    let known = property_names(base);
    let mut properties = Map::new();
    let mut defs = Map::new();
    for (field, definition) in schema["properties"].as_object().into_iter().flatten() {
        if matches!(field.as_str(), "links" | "id" | "refName") {
            continue;
        }
        let lines = sublist_element(doc_schemas, definition);
        if known.contains(&field.to_ascii_lowercase()) && lines.is_none() {
            // A field the schema has keeps its definition; the values the account allows are
            // checked on top of it.
            if let Some(allowed) = enumeration(doc_schemas, definition) {
                let spelt = base["properties"].as_object().and_then(|p| p.keys().find(|k| k.eq_ignore_ascii_case(field))).unwrap_or(field);
                out.enumerated.push(field.clone());
                properties.insert(spelt.clone(), allowed);
            }
            continue;
        }
        if known.contains(&field.to_ascii_lowercase()) {
            // A sublist the schema has: its lines may carry the account's column fields.
            if let (Some(element), Some(lines_at)) = (lines, line_schema(base, field)) {
                let have = property_names(lines_at.get(base));
                let mut more = Map::new();
                for (column, column_schema) in element.get("properties").and_then(Value::as_object).into_iter().flatten() {
                    if matches!(column.as_str(), "links" | "refName") || have.contains(&column.to_ascii_lowercase()) {
                        continue;
                    }
                    note(&mut out, &format!("{field}.{column}"), column_schema);
                    more.insert(column.clone(), convert(doc_schemas, column_schema, 0));
                }
                if !more.is_empty() {
                    match lines_at {
                        LinesAt::Def(def) => {
                            defs.insert(def, json!({"properties": more}));
                        }
                        LinesAt::Inline(name) => {
                            properties.insert(name, json!({"properties": {"items": {"items": {"properties": more}}}}));
                        }
                    }
                }
            }
            continue;
        }
        note(&mut out, field, definition);
        properties.insert(field.clone(), convert(doc_schemas, definition, 0));
    }
    // The account defines every custom field the record has: the built-in schema's patterns that
    // take any `custbody_…`/`custcol_…` id give way, so a field the account lacks is refused.
    if has_custom_patterns(base) {
        out.extension.insert("patternProperties".into(), Value::Null);
    }
    for (def, schema) in base.get("$defs").and_then(Value::as_object).into_iter().flatten() {
        if has_custom_patterns(schema) {
            let entry = defs.entry(def.clone()).or_insert_with(|| json!({}));
            entry["patternProperties"] = Value::Null;
        }
    }
    if !properties.is_empty() {
        out.extension.insert("properties".into(), Value::Object(properties));
    }
    if !defs.is_empty() {
        out.extension.insert("$defs".into(), Value::Object(defs));
    }
    out
}

fn note(out: &mut AccountRecord, shown: &str, definition: &Value) {
    let field = shown.rsplit('.').next().unwrap_or(shown);
    if definition.get("x-ns-custom-field") == Some(&Value::Bool(true)) || field.starts_with("cust") {
        out.custom_fields.push(shown.to_string());
    } else {
        out.added_fields.push(shown.to_string());
    }
}

/// What a field's definition enumerates, as a constraint to lay over another definition of it:
/// `{enum}` for a field of listed values, `{properties: {id: {enum}}}` for a select whose ids are
/// listed. Ids are taken as strings or numbers, as NetSuite takes them.
fn enumeration(doc_schemas: &Map<String, Value>, definition: &Value) -> Option<Value> {
    let listed = |d: &Value| {
        let values = d.get("enum")?.as_array()?;
        let mut out = values.clone();
        out.extend(values.iter().filter_map(|v| v.as_str()?.parse::<i64>().ok()).map(Value::from));
        if d.get("nullable") == Some(&Value::Bool(true)) {
            out.push(Value::Null);
        }
        Some(json!({"enum": out}))
    };
    if let Some(direct) = listed(definition) {
        return Some(direct);
    }
    let name = definition.get("$ref")?.as_str()?.rsplit('/').next()?;
    // Only a select or subrecord of the record (`salesOrder-orderStatus`) lists its values.
    if !name.contains('-') {
        return None;
    }
    let members: Map<String, Value> = doc_schemas
        .get(name)?
        .get("properties")?
        .as_object()?
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), listed(v)?)))
        .collect();
    (!members.is_empty()).then(|| json!({"properties": members}))
}

/// Whether a schema takes custom field ids by pattern (`^custbody[a-z0-9_]+$`).
fn has_custom_patterns(schema: &Value) -> bool {
    schema.get("patternProperties").and_then(Value::as_object).is_some_and(|p| p.keys().any(|k| k.starts_with("^cust")))
}

/// Member names of a schema's `properties`, in lower case (field ids match in any case).
fn property_names(schema: &Value) -> BTreeSet<String> {
    schema.get("properties").and_then(Value::as_object).into_iter().flatten().map(|(k, _)| k.to_ascii_lowercase()).collect()
}

/// Where a schema keeps the lines of one of its sublists.
enum LinesAt {
    /// In `$defs` under this name (the built-in schemas: `item` → `itemLine`).
    Def(String),
    /// Inline, under the sublist's own property (as the schema spells it).
    Inline(String),
}

impl LinesAt {
    fn get<'a>(&self, base: &'a Value) -> &'a Value {
        match self {
            LinesAt::Def(def) => &base["$defs"][def],
            LinesAt::Inline(name) => &base["properties"][name]["properties"]["items"]["items"],
        }
    }
}

fn line_schema(base: &Value, field: &str) -> Option<LinesAt> {
    let (name, sublist) = base.get("properties")?.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(field))?;
    let lines = sublist.pointer("/properties/items/items")?;
    match lines.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference.strip_prefix("#/$defs/").map(|d| LinesAt::Def(d.to_string())),
        None => Some(LinesAt::Inline(name.clone())),
    }
}

/// The line schema of a sublist field (`$ref` to `…Collection`, whose `items` are its lines).
fn sublist_element<'a>(doc_schemas: &'a Map<String, Value>, definition: &Value) -> Option<&'a Value> {
    let collection = target(doc_schemas, definition)?;
    let items = collection.pointer("/properties/items")?;
    if items.get("type").and_then(Value::as_str) != Some("array") {
        return None;
    }
    target(doc_schemas, items.get("items")?)
}

fn target<'a>(doc_schemas: &'a Map<String, Value>, definition: &Value) -> Option<&'a Value> {
    let name = definition.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/")?;
    doc_schemas.get(name)
}

/// Nesting followed before a subrecord is taken as any object.
const MAX_DEPTH: usize = 4;

/// One OpenAPI 3.0 field definition as JSON Schema 2020-12, as lenient as the built-in schemas:
/// a reference to another record is `#/$defs/ref` (`{id}` as a string or number, `externalId`,
/// `refName`), a sublist `{items: [lines]}`, `nullable` a `null` more.
fn convert(doc_schemas: &Map<String, Value>, definition: &Value, depth: usize) -> Value {
    if let Some(reference) = definition.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or_default();
        let Some(found) = doc_schemas.get(name) else { return json!({"$ref": "#/$defs/ref"}) };
        if let Some(element) = sublist_element(doc_schemas, definition) {
            let lines = if depth < MAX_DEPTH { convert(doc_schemas, element, depth + 1) } else { json!({"type": "object"}) };
            return json!({"type": "object", "properties": {"items": {"type": "array", "items": lines}}});
        }
        // A record (`customer`, NetSuite's `nsResource`) is referenced by id; a subrecord or
        // select of this record (`salesOrder-billingAddress`, `salesOrder-orderStatus`) is
        // written inline.
        if !name.contains('-') {
            return json!({"$ref": "#/$defs/ref"});
        }
        if depth >= MAX_DEPTH {
            return json!({"type": "object"});
        }
        return convert(doc_schemas, found, depth + 1);
    }
    let mut out = Map::new();
    let nullable = definition.get("nullable") == Some(&Value::Bool(true));
    match definition.get("type").and_then(Value::as_str) {
        Some(t @ ("string" | "integer" | "number" | "boolean" | "array")) => {
            out.insert("type".into(), if nullable { json!([t, "null"]) } else { json!(t) });
        }
        Some("object") | None if definition.get("properties").is_some() => {
            out.insert("type".into(), if nullable { json!(["object", "null"]) } else { json!("object") });
            let mut properties = Map::new();
            for (k, v) in definition["properties"].as_object().into_iter().flatten() {
                if k != "links" {
                    properties.insert(k.clone(), convert(doc_schemas, v, depth + 1));
                }
            }
            out.insert("properties".into(), Value::Object(properties));
        }
        Some("object") => {
            out.insert("type".into(), if nullable { json!(["object", "null"]) } else { json!("object") });
        }
        _ => {}
    }
    // Formats the validator checks; NetSuite's `int64`, `double`, `float` say no more than the type.
    if let Some(f @ ("date" | "date-time")) = definition.get("format").and_then(Value::as_str) {
        out.insert("format".into(), json!(f));
    }
    if let Some(values) = definition.get("enum").and_then(Value::as_array) {
        let mut values = values.clone();
        if nullable {
            values.push(Value::Null);
        }
        out.insert("enum".into(), Value::Array(values));
    }
    if let (Some(items), Some("array")) = (definition.get("items"), definition.get("type").and_then(Value::as_str))
        && depth < MAX_DEPTH
    {
        out.insert("items".into(), convert(doc_schemas, items, depth + 1));
    }
    if let Some(title) = definition.get("title").and_then(Value::as_str) {
        out.insert("title".into(), json!(title));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r##"{"openapi": "3.0.1", "components": {"schemas": {
      "salesOrder": {"type": "object", "properties": {
        "links": {"type": "array"}, "id": {"type": "string"},
        "memo": {"type": "string", "nullable": true},
        "entity": {"$ref": "#/components/schemas/customer"},
        "custbody_channel": {"title": "Channel", "type": "string", "nullable": true, "x-ns-custom-field": true},
        "custbody_gift_count": {"type": "integer", "format": "int64", "x-ns-custom-field": true},
        "shipDate": {"type": "string", "format": "date"},
        "item": {"$ref": "#/components/schemas/salesOrder-itemCollection"}}},
      "salesOrder-itemCollection": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/salesOrder-itemElement"}}}},
      "salesOrder-itemElement": {"type": "object", "properties": {"quantity": {"type": "number"}, "custcol_gift_wrap": {"type": "boolean", "x-ns-custom-field": true}}},
      "customer": {"type": "object", "properties": {"links": {}, "id": {}, "refName": {}}},
      "nsLink": {"type": "object", "properties": {"rel": {"type": "string"}}}}}}"##;

    #[test]
    fn custom_fields_typed_and_lines_extended_where_the_schema_keeps_them() {
        let found = read(Path::new(""), Path::new("catalog.json"), DOC).unwrap();
        assert_eq!(found.records.keys().collect::<Vec<_>>(), ["customer", "salesorder"]);
        let base = json!({"properties": {"memo": {"type": "string"}, "item": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/itemLine"}}}}},
                          "$defs": {"itemLine": {"properties": {"quantity": {"type": "number"}}}}});
        let ext = found.extension("salesorder", &base);
        assert_eq!(ext.custom_fields, ["custbody_channel", "custbody_gift_count", "item.custcol_gift_wrap"]);
        assert_eq!(ext.added_fields, ["entity", "shipDate"]);
        assert_eq!(ext.extension["properties"]["custbody_channel"], json!({"type": ["string", "null"], "title": "Channel"}));
        assert_eq!(ext.extension["properties"]["custbody_gift_count"], json!({"type": "integer"}));
        assert_eq!(ext.extension["properties"]["entity"], json!({"$ref": "#/$defs/ref"}));
        assert_eq!(ext.extension["properties"]["shipDate"], json!({"type": "string", "format": "date"}));
        assert_eq!(ext.extension["$defs"], json!({"itemLine": {"properties": {"custcol_gift_wrap": {"type": "boolean"}}}}));
        assert!(ext.extension["properties"].get("memo").is_none(), "a field the schema has keeps its built-in definition");
    }

    /// Once the account's custom fields are known, the built-in patterns that take any custom id
    /// give way; a select the schema has gets the account's values on top of its definition.
    #[test]
    fn patterns_give_way_and_select_values_are_carried() {
        let doc = DOC.replace(
            r#""shipDate": {"type": "string", "format": "date"},"#,
            r##""shipDate": {"type": "string", "format": "date"}, "orderStatus": {"$ref": "#/components/schemas/salesOrder-orderStatus"}, "priority": {"type": "string", "enum": ["1", "2"]},"##,
        ).replace(
            r#""customer": {"type""#,
            r#""salesOrder-orderStatus": {"type": "object", "properties": {"id": {"type": "string", "enum": ["A", "B"]}, "refName": {"type": "string"}}}, "customer": {"type""#,
        );
        let found = read(Path::new(""), Path::new("catalog.json"), &doc).unwrap();
        let base = json!({"properties": {"orderStatus": {"$ref": "#/$defs/ref"}, "priority": {"type": "string"}, "item": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/itemLine"}}}}},
                          "patternProperties": {"^custbody[a-z0-9_]+$": {}},
                          "$defs": {"itemLine": {"properties": {"quantity": {"type": "number"}}, "patternProperties": {"^custcol[a-z0-9_]+$": {}}}, "ref": {"type": "object"}}});
        let ext = found.extension("salesorder", &base);
        assert_eq!(ext.extension["patternProperties"], Value::Null);
        assert_eq!(ext.extension["$defs"]["itemLine"]["patternProperties"], Value::Null);
        assert!(ext.extension["$defs"].get("ref").is_none());
        assert_eq!(ext.enumerated, ["orderStatus", "priority"]);
        assert_eq!(ext.extension["properties"]["orderStatus"], json!({"properties": {"id": {"enum": ["A", "B"]}}}));
        assert_eq!(ext.extension["properties"]["priority"], json!({"enum": ["1", "2", 1, 2]}), "ids as strings or numbers");
    }

    #[test]
    fn not_openapi_or_without_records_is_located() {
        let bad = |text: &str| read(Path::new(""), Path::new("c.json"), text).unwrap_err().to_string();
        assert!(bad(r#"{"swagger": "2.0"}"#).contains("Swagger 2"));
        assert!(bad(r#"{"openapi": "2.0"}"#).contains("c.json:1:14"), "{}", bad(r#"{"openapi": "2.0"}"#));
        assert!(bad(r#"{"openapi": "3.0.1"}"#).contains("no `components`"));
        assert!(bad("{\"openapi\": \"3.0.1\",\n \"components\": {}}").contains("c.json:2:16"));
    }
}

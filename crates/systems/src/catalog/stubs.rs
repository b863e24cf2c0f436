//! Stubs as written (in a scenario or a shared stub set) made ready to serve: matchers compiled,
//! recorded answers loaded, presets filled in by the system — every problem located in the file
//! that wrote it.

use std::path::Path;

use harness_core::{Diagnostic, MockResponse, SystemId, did_you_mean};
use harness_mock::{Matcher, Stub};
use harness_syntax::Span;
use harness_syntax::stub::{ResponseSpec, StubSpec};

use super::{Catalog, SystemVersion};
use crate::System;

/// A path that names a version of its system other than the one running: it would silently stop
/// matching at this version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this path names {system} API version {named}, but this runs {system} at {runs}: write `{{version}}` instead")]
pub struct OtherVersion {
    pub system: SystemId,
    pub named: String,
    pub runs: String,
}

/// Why an answer as written cannot be served.
enum ResponseError {
    /// The recording it names is broken (located in the recording).
    Recording(Diagnostic),
    /// A message about the stub's own text, and where.
    Spec(String, Span),
}

impl Catalog {
    /// Resolve stubs written in `origin` (a scenario or stub set, whose text is `origin_text`) into
    /// servable ones.
    pub fn resolve_stubs(
        &self,
        system: &dyn System,
        version: &SystemVersion,
        specs: &[StubSpec],
        origin: &Path,
        origin_text: &str,
    ) -> Result<Vec<Stub>, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let mut stubs = Vec::new();
        let here = |msg: String, span: Span| span.diagnostic(origin, origin_text, msg).relative_to(&self.root);
        for spec in specs {
            let matcher =
                match self.versioned_path(version, &spec.matcher.path).map_err(|e| e.to_string()).and_then(|path| {
                    let mut at_version = spec.matcher.clone();
                    at_version.path.value = path;
                    Matcher::compile(&at_version).map_err(|e| e.to_string())
                }) {
                    Ok(m) => m,
                    Err(e) => {
                        errors.push(here(e, spec.matcher.path.span));
                        continue;
                    }
                };
            let answers: Vec<&ResponseSpec> = match (&spec.respond, &spec.sequence) {
                (Some(r), None) => vec![r],
                (None, Some(seq)) if !seq.is_empty() => seq.iter().collect(),
                (None, Some(seq)) => {
                    errors.push(here("`sequence` needs at least one response".into(), seq.span));
                    continue;
                }
                (Some(_), Some(seq)) => {
                    errors.push(here("a stub has `respond` or `sequence`, not both".into(), seq.span));
                    continue;
                }
                (None, None) => {
                    errors.push(here(
                        format!(
                            "stub for `{}` says nothing about the answer: add `respond` or `sequence`",
                            spec.matcher.path.value
                        ),
                        spec.matcher.path.span,
                    ));
                    continue;
                }
            };
            let mut responses = Vec::new();
            for answer in answers {
                match self.response(system, version, answer) {
                    Ok(r) => responses.push(r),
                    Err(ResponseError::Recording(d)) => match &answer.file {
                        Some(file) if d.span.is_none() => errors.push(here(d.message, file.span)),
                        _ => errors.push(d),
                    },
                    Err(ResponseError::Spec(msg, span)) => errors.push(here(msg, span)),
                }
            }
            let name = spec.name.clone().unwrap_or_else(|| {
                format!("{} {}", spec.matcher.method.as_deref().unwrap_or("*"), spec.matcher.path.value)
            });
            stubs.push(Stub { name, matcher, responses, times: spec.times });
        }
        if errors.is_empty() { Ok(stubs) } else { Err(errors) }
    }

    /// `path` at `version`: `{version}` stands for it, and a literal version of the system other
    /// than this one is refused — such a path would silently stop matching at this version.
    pub fn versioned_path(&self, version: &SystemVersion, path: &str) -> Result<String, OtherVersion> {
        let known = self.versions(&version.system);
        let other = known.iter().filter(|v| **v != version.version).find(|v| {
            if path.starts_with('~') {
                path.contains(v.as_str())
            } else {
                path.split('/').any(|segment| segment == v.as_str())
            }
        });
        match other {
            Some(v) => {
                Err(OtherVersion { system: version.system.clone(), named: v.clone(), runs: version.version.clone() })
            }
            None => Ok(path.replace("{version}", &version.version)),
        }
    }

    fn response(
        &self,
        system: &dyn System,
        version: &SystemVersion,
        spec: &ResponseSpec,
    ) -> Result<MockResponse, ResponseError> {
        let bodies = [spec.file.is_some(), spec.body.is_some(), spec.body_text.is_some(), spec.preset.is_some()];
        if bodies.iter().filter(|b| **b).count() > 1 {
            let span =
                spec.body_text.as_ref().map(|b| b.span).or(spec.body.as_ref().map(|b| b.span)).unwrap_or_default();
            return Err(ResponseError::Spec(
                "a response takes one of `file`, `body`, `body_text` or `preset`".into(),
                span,
            ));
        }
        let mut response = if let Some(name) = &spec.preset {
            system.preset(version, name).ok_or_else(|| {
                let known = system.presets(version);
                let hint = did_you_mean(name, known.iter().map(String::as_str)).map_or_else(
                    || format!("presets of {}: {}", version.system, known.join(", ")),
                    |n| format!("did you mean `{n}`?"),
                );
                ResponseError::Spec(format!("unknown {} preset `{}` ({hint})", version.system, name.value), name.span)
            })?
        } else if let Some(file) = &spec.file {
            let rec = self.recording(version, file).map_err(ResponseError::Recording)?;
            let mut r = MockResponse::new(rec.status.unwrap_or(200));
            for (k, v) in &rec.headers {
                r.set_header(k, v.clone());
            }
            if rec.json.is_some() && r.header_value("content-type").is_none() {
                r.set_header("Content-Type", "application/json; charset=utf-8");
            }
            r.body = rec.body.clone();
            r
        } else if let Some(body) = &spec.body {
            MockResponse::json(200, body)
        } else if let Some(text) = &spec.body_text {
            let ct = if text.trim_start().starts_with('<') {
                "text/xml; charset=utf-8"
            } else {
                "text/plain; charset=utf-8"
            };
            MockResponse::text(200, ct, text.value.clone())
        } else {
            MockResponse::new(200)
        };
        if let Some(status) = &spec.status {
            if let Some(message) = unsendable_status(status.value) {
                return Err(ResponseError::Spec(message, status.span));
            }
            response.status = status.value;
        }
        for (name, value) in &spec.headers {
            if let Some(message) = unsendable_header(name, value) {
                return Err(ResponseError::Spec(message, value.span));
            }
            response.set_header(name, value.value.clone());
        }
        response.delay = spec.delay.or(response.delay);
        response.fault = spec.fault.or(response.fault);
        Ok(response)
    }
}

/// Why a status cannot go on the wire (a mock would answer 500 instead of it).
pub(crate) fn unsendable_status(status: u16) -> Option<String> {
    (!(100..=599).contains(&status)).then(|| format!("HTTP status {status} is out of range (100–599)"))
}

/// Why a header cannot go on the wire.
pub(crate) fn unsendable_header(name: &str, value: &str) -> Option<String> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        Some(format!("`{name}` is not a valid HTTP header name"))
    } else if http::HeaderValue::from_str(value).is_err() {
        Some(format!("the value of header `{name}` cannot be sent over HTTP (line breaks or control characters)"))
    } else {
        None
    }
}

/// The first header of `headers` that cannot be sent, with its message.
pub(crate) fn unsendable_headers<'a>(
    headers: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Option<(String, &'a String)> {
    headers.into_iter().find_map(|(n, v)| unsendable_header(n, v).map(|m| (m, n)))
}

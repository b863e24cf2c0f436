use serde_json::Value;

use crate::error::{JwtError, malformed};

/// The scope the mocked REST web services need.
const REQUIRED_SCOPE: &str = "rest_webservices";
/// The longest an assertion may live: 60 minutes (NetSuite's limit).
pub(crate) const MAX_LIFETIME_SECS: u64 = 3600;

/// Checks the claims of a verified client assertion: `iss` is the client id,
/// `aud` the token endpoint URL (a string, or an array holding it, as RFC 7519
/// allows), `scope` includes `rest_webservices`, `exp` is after `now_unix` and at
/// most an hour after `iat`.
pub fn check_client_assertion(
    claims: &Value,
    expected_iss: &str,
    expected_aud: &str,
    now_unix: u64,
) -> Result<(), JwtError> {
    let claims = claims.as_object().ok_or_else(|| malformed("claims must be a JSON object"))?;
    let claim = |claim: &'static str| claims.get(claim).ok_or(JwtError::MissingClaim { claim });

    let iss = claim("iss")?;
    if iss.as_str() != Some(expected_iss) {
        return Err(JwtError::WrongIssuer { expected: expected_iss.to_owned(), found: iss.to_string() });
    }

    let aud = claim("aud")?;
    let aud_matches = match aud {
        Value::String(aud) => aud == expected_aud,
        Value::Array(auds) => auds.iter().any(|aud| aud.as_str() == Some(expected_aud)),
        _ => false,
    };
    if !aud_matches {
        return Err(JwtError::WrongAudience { expected: expected_aud.to_owned(), found: aud.to_string() });
    }

    let scope = claims.get("scope");
    if !scope.is_some_and(includes_required_scope) {
        return Err(JwtError::MissingScope {
            found: scope.map_or_else(|| "no `scope` claim".to_owned(), Value::to_string),
        });
    }

    let iat = numeric_date(claim("iat")?, "iat")?;
    let exp = numeric_date(claim("exp")?, "exp")?;
    if exp <= now_unix {
        return Err(JwtError::Expired { exp, now: now_unix });
    }
    let lifetime = exp.checked_sub(iat).ok_or_else(|| malformed("`exp` is before `iat`"))?;
    if lifetime > MAX_LIFETIME_SECS {
        return Err(JwtError::LifetimeTooLong { lifetime });
    }
    Ok(())
}

/// Oracle documents a comma-separated string ("restlets,rest_webservices");
/// OAuth itself separates scopes with spaces, and some clients send an array.
fn includes_required_scope(scope: &Value) -> bool {
    match scope {
        Value::String(scopes) => {
            scopes.split(|c: char| c == ',' || c.is_whitespace()).any(|scope| scope == REQUIRED_SCOPE)
        }
        Value::Array(scopes) => scopes.iter().any(|scope| scope.as_str() == Some(REQUIRED_SCOPE)),
        _ => false,
    }
}

/// RFC 7519 NumericDate: seconds since the epoch, possibly fractional
/// (truncated here, as nothing finer than a second matters).
fn numeric_date(value: &Value, claim: &str) -> Result<u64, JwtError> {
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|secs| secs.is_finite() && *secs >= 0.0).map(|secs| secs as u64))
        .ok_or_else(|| malformed(format!("`{claim}` must be a number of seconds since 1970, found {value}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const AUD: &str = "https://1234567.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token";
    const NOW: u64 = 1_800_000_000;

    fn claims() -> Value {
        json!({ "iss": "client", "scope": "rest_webservices", "aud": AUD, "iat": NOW - 60, "exp": NOW + 600 })
    }

    fn check_with(change: impl FnOnce(&mut Value)) -> Result<(), JwtError> {
        let mut claims = claims();
        change(&mut claims);
        check_client_assertion(&claims, "client", AUD, NOW)
    }

    #[test]
    fn accepts_a_well_formed_assertion() {
        assert_eq!(check_with(|_| {}), Ok(()));
        assert_eq!(check_with(|c| c["aud"] = json!(["https://elsewhere", AUD])), Ok(()));
        assert_eq!(check_with(|c| c["exp"] = json!(NOW as f64 + 0.5 + 60.0)), Ok(()));
    }

    #[test]
    fn accepts_scope_lists_in_any_documented_shape() {
        for scope in [
            json!("restlets,rest_webservices"),
            json!("restlets, rest_webservices"),
            json!("rest_webservices restlets"),
            json!(["restlets", "rest_webservices"]),
        ] {
            assert_eq!(check_with(|c| c["scope"] = scope.clone()), Ok(()), "{scope}");
        }
    }

    #[test]
    fn refuses_missing_or_insufficient_scope() {
        let missing = |found: &str| Err(JwtError::MissingScope { found: found.to_owned() });
        let removed = check_with(|c| drop(c.as_object_mut().unwrap().remove("scope")));
        assert_eq!(removed, missing("no `scope` claim"));
        assert_eq!(check_with(|c| c["scope"] = json!("restlets")), missing(r#""restlets""#));
        assert_eq!(check_with(|c| c["scope"] = json!("rest_webservicesX")), missing(r#""rest_webservicesX""#));
        assert_eq!(check_with(|c| c["scope"] = json!(["restlets"])), missing(r#"["restlets"]"#));
        assert_eq!(check_with(|c| c["scope"] = json!(1)), missing("1"));
    }

    #[test]
    fn refuses_expired_and_long_lived_assertions() {
        assert_eq!(check_with(|c| c["exp"] = json!(NOW)), Err(JwtError::Expired { exp: NOW, now: NOW }));
        assert_eq!(check_with(|c| c["exp"] = json!(NOW - 1)), Err(JwtError::Expired { exp: NOW - 1, now: NOW }));
        let too_long = check_with(|c| {
            c["iat"] = json!(NOW - 1);
            c["exp"] = json!(NOW + 3600);
        });
        assert_eq!(too_long, Err(JwtError::LifetimeTooLong { lifetime: 3601 }));
        let an_hour = check_with(|c| {
            c["iat"] = json!(NOW);
            c["exp"] = json!(NOW + 3600);
        });
        assert_eq!(an_hour, Ok(()));
        assert!(matches!(check_with(|c| c["iat"] = json!(NOW + 601)), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn refuses_wrong_audience_and_issuer() {
        let wrong_aud = check_with(|c| c["aud"] = json!("https://system.netsuite.com/token"));
        assert_eq!(
            wrong_aud,
            Err(JwtError::WrongAudience {
                expected: AUD.to_owned(),
                found: r#""https://system.netsuite.com/token""#.to_owned()
            })
        );
        assert!(matches!(check_with(|c| c["aud"] = json!(["https://x"])), Err(JwtError::WrongAudience { .. })));
        let wrong_iss = check_with(|c| c["iss"] = json!("other"));
        assert_eq!(
            wrong_iss,
            Err(JwtError::WrongIssuer { expected: "client".to_owned(), found: r#""other""#.to_owned() })
        );
    }

    #[test]
    fn refuses_missing_and_mistyped_claims() {
        for claim in ["iss", "aud", "iat", "exp"] {
            let result = check_with(|c| drop(c.as_object_mut().unwrap().remove(claim)));
            assert_eq!(result, Err(JwtError::MissingClaim { claim }));
        }
        for bad in [json!("1800000600"), json!(-5), json!(null), json!([1])] {
            let result = check_with(|c| c["exp"] = bad.clone());
            assert!(matches!(result, Err(JwtError::Malformed(_))), "{bad}");
        }
        assert!(check_client_assertion(&json!([]), "client", AUD, NOW).is_err());
    }
}

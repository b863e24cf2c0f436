//! The name of a system (`shopify`, `netsuite`, `klaviyo`): the key of the system registry and of
//! every map of per-system settings. Built-in and declared systems are named the same way, so no
//! stage below the registry needs to know which systems exist.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SystemId(Arc<str>);

/// A system's place when systems are listed (reports, snapshots, `harness systems`): declared by
/// the system itself, where it lives, as an element of [`LISTED`]. Lower ranks come first.
#[derive(Debug, Clone, Copy)]
pub struct Listed {
    pub system: &'static str,
    pub rank: u32,
}

/// Every declared listing place, gathered at link time so that the order holds from the first
/// map a parser builds, before any registry exists. Systems that declare none are listed after
/// those that do, by name.
#[linkme::distributed_slice]
pub static LISTED: [Listed];

impl SystemId {
    fn rank(&self) -> u32 {
        LISTED.iter().find(|l| *l.system == *self.0).map_or(u32::MAX, |l| l.rank)
    }
}

impl Ord for SystemId {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.rank(), &*self.0).cmp(&(other.rank(), &*other.0))
    }
}

impl PartialOrd for SystemId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A name [`SystemId::new`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a system name (lower-case letters, digits, `-` and `_`, starting with a letter)")]
pub struct BadSystemName(pub String);

impl SystemId {
    /// A system name: a lower-case letter, then lower-case letters, digits, `-` or `_` (at most
    /// 40). Names become folder and file names, so nothing else is accepted.
    pub fn new(name: &str) -> Result<SystemId, BadSystemName> {
        let valid = name.len() <= 40
            && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if valid { Ok(SystemId(name.into())) } else { Err(BadSystemName(name.to_string())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Prefix of the environment variables an external program gets (`HARNESS_NETSUITE_URL`, ...).
    pub fn env_prefix(&self) -> String {
        format!("HARNESS_{}", self.0.to_ascii_uppercase().replace('-', "_"))
    }
}

impl fmt::Display for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SystemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl Serialize for SystemId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SystemId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        SystemId::new(&name).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for SystemId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SystemId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[a-z][a-z0-9_-]{0,39}$",
            "description": "A system: shopify, netsuite, peoplevox, or one the project declares in mocks/<system>/<version>/system.yaml."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[linkme::distributed_slice(LISTED)]
    static LISTED_FIRST: Listed = Listed { system: "zeta", rank: 0 };

    #[linkme::distributed_slice(LISTED)]
    static LISTED_SECOND: Listed = Listed { system: "omega", rank: 1 };

    #[test]
    fn declared_places_then_by_name() {
        let mut ids: Vec<SystemId> =
            ["klaviyo", "omega", "zeta", "acme"].iter().map(|n| SystemId::new(n).unwrap()).collect();
        ids.sort();
        let names: Vec<&str> = ids.iter().map(SystemId::as_str).collect();
        assert_eq!(names, ["zeta", "omega", "acme", "klaviyo"]);
    }

    #[test]
    fn names_are_checked_before_they_become_paths() {
        assert_eq!(SystemId::new("netsuite").unwrap().env_prefix(), "HARNESS_NETSUITE");
        assert_eq!(SystemId::new("ship-station").unwrap().env_prefix(), "HARNESS_SHIP_STATION");
        for bad in ["", "Shopify", "../x", "a/b", "1st", "x y"] {
            assert!(SystemId::new(bad).is_err(), "{bad}");
        }
    }
}

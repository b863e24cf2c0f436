//! Which field names hold credentials or personal data.
//!
//! One classification serves JSON keys, XML element and attribute names, CSV column headers, form
//! and query parameter names and header names, all normalised by [`normalize`]. A list entry is
//! either an exact name or an ending: endings catch the many spellings vendors and users invent
//! (`client_secret`, `x-shopify-access-token`, `ShippingAddressLine1`), exact names are kept for
//! words that are only credentials or personal data on their own (`token` but not
//! `checkout_token`, `name` only inside an address or a customer).
//!
//! Emails and IP addresses need no names: they are found by their shape in every value.

/// `first_name`, `firstName`, `First-Name` → `firstname`. Non-ASCII characters drop out: every
/// field name these systems use is ASCII.
pub(super) fn normalize(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Credential,
    Personal(Personal),
    /// Anything else: scanned for token shapes, emails and IP addresses.
    Free,
}

/// Personal data found by field name, each faked in its own format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Personal {
    Phone,
    Street,
    /// Every word from the first-name list.
    FirstName,
    /// Every word from the last-name list (also companies: they read like a firm's name).
    LastName,
    /// The first word from the first-name list, the rest from the last-name list, so a faked
    /// `name` equals the faked `first_name` + `last_name` of the same person.
    FullName,
}

/// Credentials only under exactly this name. `token` is Shopify's order token too (the key to an
/// order's status page, so a credential as well), while `checkout_token` and `cart_token` are
/// identifiers mappings read and stay. `code` is not here: in Shopify payloads it names discount
/// and product codes, and an OAuth authorization code is spent before a recording is written.
const CREDENTIAL_NAMES: &[&str] = &[
    "token",
    "session",
    "authorization",
    "proxyauthorization",
    "cookie",
    "setcookie",
    "hmac",
    "tokenid",
    "oauthtoken",
    "idtoken",
    "oauthverifier",
];

/// Credentials under any name ending so: `password`, `client_secret`, `x-api-key`, `SessionId`,
/// `client_assertion` (but not `client_assertion_type`), `oauth_signature` (but not
/// `oauth_signature_method`), `x-shopify-hmac-sha256`, NetSuite's TokenPassport `consumerKey`/
/// `nonce`/`signature`.
const CREDENTIAL_ENDINGS: &[&str] = &[
    "secret",
    "secretkey",
    "password",
    "passwd",
    "passphrase",
    "accesstoken",
    "refreshtoken",
    "apitoken",
    "authtoken",
    "sessiontoken",
    "bearertoken",
    "apikey",
    "privatekey",
    "consumerkey",
    "sessionid",
    "assertion",
    "signature",
    "nonce",
    "hmacsha256",
];

/// Person names wherever they appear, with how each is faked. Endings, so `customer_first_name`
/// and Peoplevox's `ContactName` count. NetSuite's `entityId` is not here: it is often an
/// auto-number that lookups use.
const NAME_ENDINGS: &[(&str, Personal)] = &[
    ("firstname", Personal::FirstName),
    ("givenname", Personal::FirstName),
    ("middlename", Personal::FirstName),
    ("lastname", Personal::LastName),
    ("surname", Personal::LastName),
    ("familyname", Personal::LastName),
    // A company on a customer's address is often a sole trader's own name.
    ("company", Personal::LastName),
    ("companyname", Personal::LastName),
    ("fullname", Personal::FullName),
    ("contactname", Personal::FullName),
    ("customername", Personal::FullName),
    ("recipientname", Personal::FullName),
    ("addressee", Personal::FullName),
];

/// NetSuite's address `attention` and entity `altName` hold names; as endings they would match too
/// much.
const NAME_NAMES: &[&str] = &["attention", "altname"];

/// `name` and `displayName` are everywhere (order `#1001`, products, note attributes), and
/// GraphQL's `formatted` (an address as lines); they are a person's only inside one of these
/// (`billing_address.name`, GraphQL `customer.displayName`, `billingAddress.formatted`).
const CONTEXTUAL: &[(&str, Personal)] =
    &[("name", Personal::FullName), ("displayname", Personal::FullName), ("formatted", Personal::Street)];
const PERSON_PARENT_ENDINGS: &[&str] = &["address", "addresses"];
const PERSON_PARENTS: &[&str] = &["customer", "customers", "destination", "recipient", "contact", "billto", "shipto"];

/// GraphQL connection wrappers, transparent when looking for a field's parent: in
/// `customers.edges[].node.displayName` the parent is `customers`.
pub(super) const CONNECTION_WRAPPERS: &[&str] = &["edges", "node", "nodes"];

/// Street lines: Shopify `address1`/`address2`, NetSuite `addr1`/`addr2`/`addr3`, Peoplevox
/// `ShippingAddressLine1`/`InvoiceAddressLine2`. City, zip/postcode, province and country are not
/// here on purpose: mappings route on them and they identify no one alone.
const STREET_ENDINGS: &[&str] = &[
    "address1",
    "address2",
    "address3",
    "addressline1",
    "addressline2",
    "addressline3",
    "addr1",
    "addr2",
    "addr3",
    "street",
    "street1",
    "street2",
    "streetaddress",
];

/// NetSuite's whole-address texts (`addrText`, `defaultAddress`, `billAddress`, `shipAddress`,
/// `billingAddress_text`: name, street and town in one string), faked as one street line.
/// Shopify's fields of these names are objects, which no rule touches, so only the strings match.
const ADDRESS_TEXT_ENDINGS: &[&str] = &["addrtext", "addresstext", "defaultaddress", "billaddress", "shipaddress"];

/// Any other text under a name ending in `address` is a postal address too (Peoplevox's CSV
/// `Address`, `DeliveryAddress` columns), but for these, which are not postal.
const NOT_POSTAL_ADDRESS_ENDINGS: &[&str] = &[
    "emailaddress",
    "ipaddress",
    "ipv4address",
    "ipv6address",
    "macaddress",
    "webaddress",
    "remoteaddress",
    "serveraddress",
    "hostaddress",
    "walletaddress",
    "urladdress",
];

fn is_postal_address(field: &str) -> bool {
    field.ends_with("address") && !NOT_POSTAL_ADDRESS_ENDINGS.iter().any(|e| field.ends_with(e))
}

const PHONE_ENDINGS: &[&str] =
    &["phone", "phonenumber", "phoneno", "mobile", "mobilenumber", "mobileno", "fax", "faxnumber", "telno"];

/// Phone numbers under exactly this name (as an ending, `tel` would catch `hotel`).
const PHONE_NAMES: &[&str] = &["tel"];

/// Business values whose names end like a person's field (`credit_card_company` is the card
/// brand, `tracking_company` the carrier): mappings route on them and they name no one.
const BUSINESS_ENDINGS: &[&str] = &["cardcompany", "trackingcompany", "carriercompany", "shippingcompany"];

/// References whose `refName` is a person's or a customer's name (NetSuite's `entity`,
/// `customer`, `contact`, `employee`, `salesRep`, custom fields ending so), by the reference's
/// name; other references name items, locations, currencies and stay.
const PERSON_REFERENCE_ENDINGS: &[&str] =
    &["entity", "customer", "contact", "employee", "salesrep", "requestor", "approver", "buyer"];

/// What the field names alone say of business values and person references, before the
/// personal endings are tried: `Some(Free)` keeps a business value from them.
fn business_or_reference(field: &str, parent: Option<&str>) -> Option<Field> {
    if BUSINESS_ENDINGS.iter().any(|e| field.ends_with(e)) {
        return Some(Field::Free);
    }
    (field == "refname" && parent.is_some_and(|p| PERSON_REFERENCE_ENDINGS.iter().any(|e| p.ends_with(e))))
        .then_some(Field::Personal(Personal::FullName))
}

pub(super) fn is_credential(field: &str) -> bool {
    CREDENTIAL_NAMES.contains(&field) || CREDENTIAL_ENDINGS.iter().any(|e| field.ends_with(e))
}

/// Credentials new on every request — signatures, nonces, webhook HMACs — are redacted where
/// they stand but not looked for elsewhere: once used they grant nothing, and a long recording
/// session would otherwise collect thousands of them.
pub(super) fn is_single_use(field: &str) -> bool {
    ["signature", "nonce", "hmac", "hmacsha256"].iter().any(|e| field.ends_with(e))
}

/// How to treat the value of `field` inside `parent` (the nearest enclosing name, GraphQL
/// connection wrappers skipped), both normalised.
pub(super) fn classify(field: &str, parent: Option<&str>) -> Field {
    if is_credential(field) {
        return Field::Credential;
    }
    if let Some(class) = business_or_reference(field, parent) {
        return class;
    }
    if let Some((_, kind)) = NAME_ENDINGS.iter().find(|(e, _)| field.ends_with(e)) {
        return Field::Personal(*kind);
    }
    let person_parent =
        parent.is_some_and(|p| PERSON_PARENTS.contains(&p) || PERSON_PARENT_ENDINGS.iter().any(|e| p.ends_with(e)));
    if let Some((_, kind)) = CONTEXTUAL.iter().find(|(name, _)| person_parent && *name == field) {
        return Field::Personal(*kind);
    }
    if NAME_NAMES.contains(&field) {
        return Field::Personal(Personal::FullName);
    }
    if STREET_ENDINGS.iter().chain(ADDRESS_TEXT_ENDINGS).any(|e| field.ends_with(e)) || is_postal_address(field) {
        return Field::Personal(Personal::Street);
    }
    if PHONE_ENDINGS.iter().any(|e| field.ends_with(e)) || PHONE_NAMES.contains(&field) {
        return Field::Personal(Personal::Phone);
    }
    Field::Free
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(field: &str, parent: Option<&str>) -> Field {
        classify(&normalize(field), parent.map(normalize).as_deref())
    }

    #[test]
    fn credentials_by_name_and_ending() {
        for name in [
            "access_token",
            "refresh_token",
            "id_token",
            "client_secret",
            "client_assertion",
            "password",
            "passwd",
            "secret",
            "api_key",
            "apikey",
            "X-API-Key",
            "token",
            "session",
            "SessionId",
            "Authorization",
            "private_key",
            "signature",
            "X-Shopify-Access-Token",
            "X-Shopify-Hmac-Sha256",
            "oauth_token",
            "consumerKey",
            "nonce",
        ] {
            assert_eq!(class(name, None), Field::Credential, "{name}");
        }
        for name in [
            "checkout_token",
            "cart_token",
            "token_type",
            "client_assertion_type",
            "oauth_signature_method",
            "client_id",
            "username",
            "code",
            "expires_in",
        ] {
            assert_eq!(class(name, None), Field::Free, "{name}");
        }
    }

    #[test]
    fn names_depend_on_their_parent() {
        assert_eq!(class("name", Some("billing_address")), Field::Personal(Personal::FullName));
        assert_eq!(class("name", Some("addresses")), Field::Personal(Personal::FullName));
        assert_eq!(class("displayName", Some("customer")), Field::Personal(Personal::FullName));
        assert_eq!(class("name", None), Field::Free);
        assert_eq!(class("name", Some("line_items")), Field::Free);
        assert_eq!(class("name", Some("note_attributes")), Field::Free);
        assert_eq!(class("Name", Some("CsvData")), Field::Free);
        assert_eq!(class("formatted", Some("billingAddress")), Field::Personal(Personal::Street));
        assert_eq!(class("formatted", Some("totalPrice")), Field::Free);
        assert_eq!(class("firstName", None), Field::Personal(Personal::FirstName));
        assert_eq!(class("ContactName", None), Field::Personal(Personal::FullName));
    }

    #[test]
    fn streets_phones_and_kept_fields() {
        for name in [
            "address1",
            "address2",
            "addr1",
            "ShippingAddressLine1",
            "InvoiceAddressLine2",
            "street",
            "addrText",
            "billingAddress_text",
        ] {
            assert_eq!(class(name, None), Field::Personal(Personal::Street), "{name}");
        }
        for name in ["phone", "mobilePhone", "altPhone", "fax", "phone_number"] {
            assert_eq!(class(name, None), Field::Personal(Personal::Phone), "{name}");
        }
        for name in ["Address", "DeliveryAddress", "shipping_address"] {
            assert_eq!(class(name, Some("CsvData")), Field::Personal(Personal::Street), "{name}");
        }
        for name in ["Tel", "PhoneNo", "TelNo"] {
            assert_eq!(class(name, Some("CsvData")), Field::Personal(Personal::Phone), "{name}");
        }
        for name in [
            "city",
            "zip",
            "province",
            "province_code",
            "country_code",
            "ShippingAddressPostcode",
            "AddressCity",
            "AddressReference",
            "email",
            "EmailAddress",
            "ip_address",
            "browser_ip",
            "hotel",
        ] {
            assert_eq!(class(name, None), Field::Free, "{name}");
        }
    }

    #[test]
    fn business_values_stay_and_person_references_are_names() {
        assert_eq!(class("creditcardcompany", Some("paymentdetails")), Field::Free, "the card brand");
        assert_eq!(class("trackingcompany", None), Field::Free, "the carrier");
        assert_eq!(class("company", Some("billingaddress")), Field::Personal(Personal::LastName));
        assert_eq!(class("refname", Some("entity")), Field::Personal(Personal::FullName));
        assert_eq!(class("refname", Some("custbodysalesrep")), Field::Personal(Personal::FullName));
        assert_eq!(class("refname", Some("item")), Field::Free);
        assert_eq!(class("refname", Some("currency")), Field::Free);
    }
}

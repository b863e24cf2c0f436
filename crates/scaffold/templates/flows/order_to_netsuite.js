#!/usr/bin/env node
// Example integration: a Shopify orders/create webhook (on stdin) becomes a NetSuite customer
// (found by email or created) and sales order, through NetSuite's REST web services with OAuth 2.0
// client credentials (a JWT assertion signed with the integration's certificate key). It reads its
// configuration from the environment, reports each order on stdout as a JSON line ({"record",
// "outcome", "reason"}) and exits 1 when one fails.
//
// Replace it with your own middleware; the harness only needs the program to talk HTTP to the
// URLs it is given.
'use strict';
const crypto = require('node:crypto');
const http = require('node:http');

const BASE_URL = process.env.NETSUITE_BASE_URL.replace(/\/$/, '');
const TOKEN_URL = BASE_URL + '/services/rest/auth/oauth2/v1/token';
const ITEMS = { 'TEE-ORGANIC-M-NAVY': '5102', 'SOCKS-BAMBOO-3PK': '5402' };

const b64url = (data) => Buffer.from(data).toString('base64url');

// The client assertion: ES256 with the certificate's key (base64 PKCS#8), `kid` its certificate id.
function assertion() {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'ES256', typ: 'JWT', kid: process.env.NETSUITE_CERTIFICATE_ID };
  const claims = { iss: process.env.NETSUITE_CLIENT_ID, scope: 'rest_webservices', aud: TOKEN_URL, iat: now, exp: now + 300 };
  const input = b64url(JSON.stringify(header)) + '.' + b64url(JSON.stringify(claims));
  const key = crypto.createPrivateKey({ key: Buffer.from(process.env.NETSUITE_PRIVATE_KEY, 'base64'), format: 'der', type: 'pkcs8' });
  return input + '.' + crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}

function post(url, body, headers) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', timeout: 5000, headers }, (response) => {
      const chunks = [];
      response.on('data', (c) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, text: Buffer.concat(chunks).toString() }));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

let token;
async function accessToken() {
  if (!token) {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion(),
    }).toString();
    const answer = await post(TOKEN_URL, form, { 'Content-Type': 'application/x-www-form-urlencoded' });
    if (answer.status !== 200) throw new Error(`token request refused: HTTP ${answer.status}`);
    token = JSON.parse(answer.text).access_token;
  }
  return token;
}

async function call(method, path, body, headers = {}) {
  const url = BASE_URL + path;
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const bearer = await accessToken();
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method,
      timeout: 5000,
      headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json', ...headers },
    }, (response) => {
      const chunks = [];
      response.on('data', (c) => chunks.push(c));
      response.on('end', () => {
        const raw = Buffer.concat(chunks).toString();
        resolve({ status: response.statusCode, headers: response.headers, body: raw ? JSON.parse(raw) : null });
      });
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end(data);
  });
}

async function deliver(order) {
  const key = order.name;
  const email = order.email.toLowerCase();
  const lines = [];
  for (const line of order.line_items) {
    if (!(line.sku in ITEMS)) return { record: key, outcome: 'dead-lettered', reason: `no NetSuite item for SKU ${line.sku}` };
    lines.push({ item: { id: ITEMS[line.sku] }, quantity: line.quantity, rate: Number(line.price) });
  }
  const found = await call('POST', '/services/rest/query/v1/suiteql',
    { q: `SELECT id FROM customer WHERE email = '${email.replace(/'/g, "''")}'` }, { Prefer: 'transient' });
  if (found.status !== 200) return { record: key, outcome: 'dead-lettered', reason: `customer lookup failed: HTTP ${found.status}` };
  let customer;
  if (found.body.items.length > 0) {
    customer = found.body.items[0].id;
  } else {
    const created = await call('POST', '/services/rest/record/v1/customer', {
      externalId: `SHOPIFY-CUSTOMER-${order.customer.id}`, isPerson: true, subsidiary: { id: '1' },
      firstName: order.customer.first_name, lastName: order.customer.last_name, email,
    });
    if (created.status !== 204) return { record: key, outcome: 'dead-lettered', reason: `customer create failed: HTTP ${created.status}` };
    customer = created.headers.location.split('/').pop();
  }
  const sent = await call('POST', '/services/rest/record/v1/salesOrder', {
    externalId: `SHOPIFY-${order.id}`, otherRefNum: key, entity: { id: customer },
    tranDate: order.created_at.slice(0, 10), memo: order.note || '', item: { items: lines },
  });
  if (sent.status !== 204) return { record: key, outcome: 'dead-lettered', reason: `sales order rejected: HTTP ${sent.status} ${JSON.stringify(sent.body)}` };
  return { record: key, outcome: 'delivered' };
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const result = await deliver(JSON.parse(Buffer.concat(chunks).toString()));
  console.log(JSON.stringify(result));
  return result.outcome === 'delivered' ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (error) => { console.error(error.stack); process.exitCode = 1; });

#!/usr/bin/env node
// A small order service, the kind of middleware the harness tests as a `service:` flow: a web
// service (Node.js standard library only) that receives Shopify `orders/create` webhooks,
// verifies their HMAC, answers 200 at once and then creates the NetSuite customer and sales
// order in the background, as Shopify recommends. A second endpoint takes Peoplevox despatch
// callbacks and records the tracking number on the NetSuite sales order.
//
// Configuration comes from the environment (the flow file maps the mocks' URLs and credentials
// to these names): PORT, SHOPIFY_APP_SECRET, NETSUITE_URL, NETSUITE_CLIENT_ID,
// NETSUITE_CERTIFICATE_ID, NETSUITE_PRIVATE_KEY (base64 PKCS#8, EC P-256), and the harness's HARNESS_NOW (RFC 3339).
//
// It reports how each order ended as a JSON line on stdout ({"record", "outcome", "reason"}).
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');

const env = process.env;
const ITEMS = { 'TEE-ORG-S-NAVY': '5101', 'TEE-ORG-M-NAVY': '5102', 'TEE-ORG-L-NAVY': '5103', 'HOODIE-RECY-L-SAGE': '5205', 'SOCKS-BAMBOO-3PK': '5402' };
// Webhook ids already taken: Shopify may deliver the same webhook more than once.
const seen = new Set();

const b64url = (data) => Buffer.from(data).toString('base64url');

// OAuth 2.0 client credentials with an ES256 client assertion signed by the certificate's key.
async function token() {
  const audience = env.NETSUITE_URL + '/services/rest/auth/oauth2/v1/token';
  const now = Math.floor(Date.parse(env.HARNESS_NOW) / 1000);
  const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: env.NETSUITE_CERTIFICATE_ID }));
  const claims = b64url(JSON.stringify({ iss: env.NETSUITE_CLIENT_ID, scope: 'rest_webservices', aud: audience, iat: now, exp: now + 300 }));
  const key = crypto.createPrivateKey({ key: Buffer.from(env.NETSUITE_PRIVATE_KEY, 'base64'), format: 'der', type: 'pkcs8' });
  const signature = crypto.sign('sha256', Buffer.from(header + '.' + claims), { key, dsaEncoding: 'ieee-p1363' });
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: header + '.' + claims + '.' + b64url(signature),
  });
  const answer = await fetch(audience, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
  if (!answer.ok) throw new Error('NetSuite refused the client credentials: HTTP ' + answer.status);
  return (await answer.json()).access_token;
}

// A NetSuite session for one piece of work: its own access token (the harness's mocks forget the
// tokens they issued between scenarios, so a token kept across orders would be refused in the next).
function session() {
  let bearer = null;
  // One NetSuite call: a refused token is fetched again once; a 429 or 5xx is retried after its
  // Retry-After (else 0.2 s), three attempts in all.
  return async function netsuite(method, path, body, headers = {}) {
  let renewed = false;
  for (let attempt = 1; ; attempt++) {
    bearer = bearer || (await token());
    const answer = await fetch(env.NETSUITE_URL + path, {
      method,
      headers: { Authorization: 'Bearer ' + bearer, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await answer.text();
    if (answer.status === 401 && !renewed) {
      renewed = true;
      bearer = null;
      continue;
    }
    if ((answer.status === 429 || answer.status >= 500) && attempt < 3) {
      const wait = Number(answer.headers.get('retry-after') || 0.2);
      await new Promise((done) => setTimeout(done, wait * 1000));
      continue;
    }
    return { status: answer.status, headers: answer.headers, json: text ? JSON.parse(text) : null };
  }
  };
}

function report(record, outcome, reason) {
  console.log(JSON.stringify(reason ? { record, outcome, reason } : { record, outcome }));
}

async function createOrder(order) {
  const netsuite = session();
  const email = order.email.toLowerCase();
  const found = await netsuite('POST', '/services/rest/query/v1/suiteql', { q: "SELECT id FROM customer WHERE email = '" + email.replace(/'/g, "''") + "'" }, { Prefer: 'transient' });
  if (found.status !== 200) return report(order.name, 'dead-lettered', 'customer lookup failed: HTTP ' + found.status);
  // An answer without `items` throws here, outside any handler: the service crashes.
  let customer = found.json.items.length ? found.json.items[0].id : null;
  if (!customer) {
    const created = await netsuite('POST', '/services/rest/record/v1/customer', {
      externalId: 'SHOPIFY-CUSTOMER-' + order.customer.id, isPerson: true, subsidiary: { id: '1' },
      firstName: order.customer.first_name, lastName: order.customer.last_name, email,
    });
    if (created.status !== 204) return report(order.name, 'dead-lettered', 'customer create failed: HTTP ' + created.status);
    customer = created.headers.get('location').split('/').pop();
  }
  const lines = [];
  for (const line of order.line_items) {
    if (!ITEMS[line.sku]) return report(order.name, 'dead-lettered', 'no NetSuite item for SKU ' + line.sku);
    lines.push({ item: { id: ITEMS[line.sku] }, quantity: line.quantity, rate: Number(line.price) });
  }
  const sale = await netsuite('POST', '/services/rest/record/v1/salesOrder', {
    externalId: 'SHOPIFY-' + order.id, otherRefNum: order.name, entity: { id: customer },
    tranDate: order.created_at.slice(0, 10), item: { items: lines },
  });
  if (sale.status !== 204) return report(order.name, 'dead-lettered', 'sales order rejected: HTTP ' + sale.status);
  report(order.name, 'delivered');
}

async function recordDespatch(params) {
  const netsuite = session();
  const key = params.get('SalesOrderNumber');
  const answer = await netsuite('PATCH', '/services/rest/record/v1/salesOrder/eid:SHOPIFY-' + params.get('OrderId'), {
    custbody_tracking_number: params.get('TrackingNumber'),
  });
  if (answer.status !== 204) return report(key, 'dead-lettered', 'tracking update failed: HTTP ' + answer.status);
  report(key, 'delivered');
}

function orderWebhook(request, response, body) {
  const given = Buffer.from(request.headers['x-shopify-hmac-sha256'] || '', 'base64');
  const expected = crypto.createHmac('sha256', env.SHOPIFY_APP_SECRET).update(body).digest();
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    response.writeHead(401).end('invalid webhook signature');
    return;
  }
  const id = request.headers['x-shopify-webhook-id'];
  response.writeHead(200).end(seen.has(id) ? 'duplicate' : 'ok');
  if (seen.has(id)) return;
  seen.add(id);
  // Acknowledged first; the work happens afterwards.
  setImmediate(() => createOrder(JSON.parse(body)));
}

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on('data', (c) => chunks.push(c));
  request.on('end', () => {
    const url = new URL(request.url, 'http://service');
    if (request.method === 'GET' && url.pathname === '/health') return response.writeHead(200).end('ok');
    if (request.method === 'POST' && url.pathname === '/webhooks/orders-create') return orderWebhook(request, response, Buffer.concat(chunks));
    if (request.method === 'GET' && url.pathname === '/peoplevox/despatch') {
      response.writeHead(200).end('ok');
      return setImmediate(() => recordDespatch(url.searchParams));
    }
    response.writeHead(404).end('not found');
  });
});
server.listen(Number(env.PORT), '127.0.0.1', () => console.error('order service ready'));

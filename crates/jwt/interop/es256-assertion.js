// Prints a NetSuite M2M client assertion, signed the way a Node.js 20 service
// would do it with nothing but node:crypto. The harness's tests run it to prove
// the mock token endpoint accepts what such a service produces.
//
// Environment: ASSERTION_ISS (client id), ASSERTION_AUD (token endpoint URL),
// ASSERTION_KID (certificate id), ASSERTION_KEY (PKCS#8 PEM private key),
// optionally ASSERTION_SCOPE (default "restlets,rest_webservices") and
// ASSERTION_ALG: ES256 (default), PS256, or RS256 (which NetSuite refuses;
// there so that the refusal can be tested).
'use strict';
const crypto = require('node:crypto');

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
}

const key = crypto.createPrivateKey(required('ASSERTION_KEY'));
const alg = process.env.ASSERTION_ALG || 'ES256';
const signOptions = {
  // JWS wants r || s; Node's default for EC keys is DER, which NetSuite refuses.
  ES256: { key, dsaEncoding: 'ieee-p1363' },
  // RFC 7518: the PSS salt is as long as the hash; Node's default is the maximum.
  PS256: { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
  RS256: { key },
}[alg];
if (!signOptions) {
  console.error(`ASSERTION_ALG must be ES256, PS256 or RS256, not ${alg}`);
  process.exit(2);
}

const now = Math.floor(Date.now() / 1000);
const header = { typ: 'JWT', alg, kid: required('ASSERTION_KID') };
const claims = {
  iss: required('ASSERTION_ISS'),
  scope: process.env.ASSERTION_SCOPE || 'restlets,rest_webservices',
  aud: required('ASSERTION_AUD'),
  iat: now,
  exp: now + 3600,
};
const encode = (part) => Buffer.from(JSON.stringify(part)).toString('base64url');
const signingInput = `${encode(header)}.${encode(claims)}`;
const signature = crypto.sign('sha256', Buffer.from(signingInput), signOptions);
console.log(`${signingInput}.${signature.toString('base64url')}`);

// A real OpenID Provider for Attest's SSO tests: panva's certified oidc-provider with one static client,
// accounts whose claims (groups) the test changes between sign-ins, a plain login form, automatic consent
// (a first-party client), and signing keys the test can rotate.
//
// node server.mjs <config.json>; prints {"issuer": ...} on stdout once listening on 127.0.0.1.
// config: {client_id, client_secret, redirect_uris, post_logout_redirect_uris, accounts: {id: {password, claims}}}
// Test controls (loopback only, this process is a test fixture):
//   POST /admin/accounts  {id: {password, claims}}  add or replace accounts
//   POST /admin/login     {stale_seconds, acr, amr}  how the next logins are recorded (stale_seconds > 0:
//                         the login is reported as that many seconds old, like an IdP reusing a session)
//   POST /admin/rotate                              a new signing key (new kid); the old one stays published
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const accounts = { ...config.accounts };
const login = { stale_seconds: 0, acr: 'urn:attest:test:pwd', amr: ['pwd'] };
let keys = [newKey()];
let provider;
let issuer;

function newKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };
}

function build() {
  const oidc = new Provider(issuer, {
    clients: [{
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: config.redirect_uris,
      post_logout_redirect_uris: config.post_logout_redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      require_auth_time: true,
    }],
    jwks: { keys },
    cookies: { keys: ['attest-test-cookie-key'] },
    acrValues: ['urn:attest:test:pwd', 'urn:attest:test:mfa'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name', 'given_name', 'family_name'],
      groups: ['groups'],
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
    },
    async findAccount(ctx, id) {
      if (!accounts[id]) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...accounts[id].claims }) };
    },
    async loadExistingGrant(ctx) {
      // Consent is given for a first-party client: every requested scope is granted.
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      const grant = (grantId && await ctx.oidc.provider.Grant.find(grantId))
        || new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(ctx.oidc.params.scope || 'openid');
      await grant.save();
      return grant;
    },
  });
  oidc.proxy = false;
  return oidc;
}

function body(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
  });
}

function reply(res, status, payload, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type });
  res.end(type === 'application/json' ? JSON.stringify(payload) : payload);
}

async function admin(req, res, path) {
  const data = JSON.parse((await body(req)) || '{}');
  if (path === '/admin/accounts') Object.assign(accounts, data);
  else if (path === '/admin/login') Object.assign(login, data);
  else if (path === '/admin/rotate') {
    keys = [newKey(), ...keys];
    provider = build();
  } else return reply(res, 404, { error: 'unknown' });
  return reply(res, 200, { kids: keys.map((key) => key.kid) });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return reply(res, 400, { error: 'interaction mismatch' });
  if (req.method === 'GET') {
    const form = `<form method="post" action="/interaction/${uid}/login"><input name="login">`
      + '<input name="password" type="password"><button>Sign in</button></form>';
    return reply(res, 200, `<!doctype html><title>Test IdP</title><p>${details.prompt.name}</p>${form}`, 'text/html');
  }
  if (action !== 'login') return reply(res, 404, { error: 'unknown' });
  const form = new URLSearchParams(await body(req));
  const account = accounts[form.get('login')];
  if (!account || account.password !== form.get('password')) {
    return reply(res, 401, '<!doctype html><p>Wrong login or password.</p>', 'text/html');
  }
  const ts = Math.floor(Date.now() / 1000) - (login.stale_seconds || 0);
  const result = { login: { accountId: form.get('login'), ts, acr: login.acr, amr: login.amr, remember: true } };
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const server = http.createServer(async (req, res) => {
  try {
    const path = new URL(req.url, issuer).pathname;
    if (req.method === 'POST' && path.startsWith('/admin/')) return await admin(req, res, path);
    const match = path.match(/^\/interaction\/([^/]+)(?:\/([a-z]+))?$/);
    if (match) return await interaction(req, res, match[1], match[2]);
    return provider.callback()(req, res);
  } catch (error) {
    return reply(res, 500, { error: String(error) });
  }
});

server.listen(0, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  provider = build();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

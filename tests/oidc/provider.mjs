// A real OpenID Connect provider for the single sign-on test: panva/node-oidc-provider with its
// development login screen (any login name, any password: the account id is the login name).
// Usage: node provider.mjs PORT REDIRECT_URI CLIENT_SECRET
import Provider from 'oidc-provider';

const [port, redirectUri, secret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'wareroom',
    client_secret: secret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        // "unverified-…" logins stand for an identity provider that has not verified the address
        return { sub: id, email: `${id.replace(/^unverified-/, '')}@warehouse.example`,
                 email_verified: !id.startsWith('unverified-'), name: id };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['wareroom-test-cookie-key'] },
});
provider.listen(Number(port), '127.0.0.1', () => console.log(`oidc provider ready at ${issuer}`));

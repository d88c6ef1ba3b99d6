/**
 * OIDC sign-in, authorization code + PKCE (oauth4webapi): the console is a public client; the
 * verifier and state stay in sessionStorage until the issuer redirects back to /console/callback.
 * The access token becomes the session's bearer token (the hub verifies it against the issuer's
 * keys, as for any other caller).
 */
import * as oauth from 'oauth4webapi';

const PENDING = 'tongxiang.console.oidc';

interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
}

/** Plain http only to an issuer on this machine (as the hub accepts it: docs/identity.md), for both discovery and the token request. */
function insecureAllowed(issuer: string): { [oauth.allowInsecureRequests]: boolean } {
  return { [oauth.allowInsecureRequests]: ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(issuer).hostname) };
}

function redirectUri(): string {
  return `${window.location.origin}/console/callback`;
}

async function discover(settings: OidcSettings): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(settings.issuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecureAllowed(settings.issuer) });
  return oauth.processDiscoveryResponse(issuer, response);
}

export async function startOidcSignIn(settings: OidcSettings): Promise<void> {
  const as = await discover(settings);
  if (!as.authorization_endpoint) throw new Error('the issuer has no authorization endpoint');
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const challenge = await oauth.calculatePKCECodeChallenge(verifier);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, settings }));
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', settings.clientId);
  url.searchParams.set('redirect_uri', redirectUri());
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', settings.scope);
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  window.location.assign(url.href);
}

/** On /console/callback: trades the code for tokens; returns the access token. */
export async function finishOidcSignIn(): Promise<string> {
  const pending = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  if (!pending) throw new Error('no sign-in in progress');
  const { verifier, state, settings } = JSON.parse(pending) as { verifier: string; state: string; settings: OidcSettings };
  const as = await discover(settings);
  const client: oauth.Client = { client_id: settings.clientId };
  const params = oauth.validateAuthResponse(as, client, new URL(window.location.href), state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri(), verifier, insecureAllowed(settings.issuer));
  const result = await oauth.processAuthorizationCodeResponse(as, client, response);
  return result.access_token;
}

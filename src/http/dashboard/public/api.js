// The admin API, relative to this page (…/admin/ → …/v1/admin/), so a path prefix added by a
// reverse proxy keeps working. The token lives in sessionStorage: gone when the tab closes.

const TOKEN_KEY = 'licensor.adminToken';
const GRANT_KEY = 'licensor.adminGrant';
const BASE = new URL('../v1/admin/', document.baseURI);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  /** Who signed in (GET /v1/admin/whoami): { name, actor, scope, products }. */
  get grant() {
    try {
      return JSON.parse(sessionStorage.getItem(GRANT_KEY) ?? 'null');
    } catch {
      return null;
    }
  },
  signIn(token, grant) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(GRANT_KEY, JSON.stringify(grant));
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(GRANT_KEY);
  },
};

const SCOPES = ['read', 'codes', 'full'];

/**
 * Whether the signed-in token's scope reaches an action (docs/operations.md "Admin tokens"): the
 * page hides what it does not. The server decides all the same; this only spares a refusal.
 */
export function can(scope, product) {
  const grant = session.grant;
  if (!grant || SCOPES.indexOf(grant.scope) < SCOPES.indexOf(scope)) return false;
  return scope !== 'codes' || product === undefined || grant.products === null || grant.products.includes(product);
}

/** Calls the admin API; refusals become ApiError with the server's stable code and message. */
export async function api(path, { method = 'GET', body, token = session.token } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(new URL(path.replace(/^\//, ''), BASE), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The server did not answer. Is licensor running?');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const error = data && typeof data.error === 'object' ? data.error : {};
    throw new ApiError(res.status, String(error.code ?? 'http_error'), String(error.message ?? `The server answered ${res.status}.`));
  }
  return data;
}

/** Builds a query string, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : '';
}

// The admin API, relative to this page (…/admin/ → …/v1/admin/), so a path prefix added by a
// reverse proxy keeps working. The token lives in sessionStorage: gone when the tab closes.

const TOKEN_KEY = 'licensor.adminToken';
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
  signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

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

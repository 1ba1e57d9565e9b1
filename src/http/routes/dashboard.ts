import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router, type RequestHandler } from 'express';

/**
 * The pages' assets (src/http/<folder>/public) are plain HTML, CSS and browser modules, not
 * compiled by tsc, kept beside the sources; from dist/ we reach them through the package root.
 */
function pageAssetsDir(folder: 'dashboard' | 'docs'): string {
  const candidates = [join(__dirname, '..', folder, 'public'), join(__dirname, '..', '..', '..', '..', 'src', 'http', folder, 'public')];
  const dir = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!dir) throw new Error(`${folder} assets not found (looked in ${candidates.join(', ')})`);
  return dir;
}

/**
 * Everything the page loads comes from this server: no inline script or style, no other origin,
 * and the page may not be framed. Client-reported strings are rendered as text by the page itself.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of the pages this server serves (the dashboard, the API docs). */
const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-cache');
  next();
};

/** A page of this server (the dashboard, the API docs): its assets folder, served with the pages' headers. */
export function servePage(folder: 'dashboard' | 'docs'): RequestHandler[] {
  return [securityHeaders, express.static(pageAssetsDir(folder), { index: 'index.html', redirect: true, dotfiles: 'ignore' })];
}

/** The admin dashboard at /admin (the data comes from /v1/admin/*, with the token the operator types). */
export function dashboard(): Router {
  const router = Router();
  router.use('/admin', servePage('dashboard'));
  return router;
}

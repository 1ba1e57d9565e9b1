import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router } from 'express';
import { declareRoutes } from '../openapi/registry';
import { securityHeaders } from './dashboard';

/** The docs page's assets, beside the sources like the dashboard's (see dashboard.ts). */
const ASSET_DIRS = [join(__dirname, '..', 'docs', 'public'), join(__dirname, '..', '..', '..', '..', 'src', 'http', 'docs', 'public')];

function docsAssetsDir(): string {
  const dir = ASSET_DIRS.find((d) => existsSync(join(d, 'index.html')));
  if (!dir) throw new Error(`API docs assets not found (looked in ${ASSET_DIRS.join(', ')})`);
  return dir;
}

/** /openapi.json (built once at start) and /docs, a page that renders it with our own script. */
export function openApiDocs(document: object): Router {
  const router = Router();
  const body = JSON.stringify(document);
  router.get('/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.type('application/json').send(body);
  });
  router.use('/docs', securityHeaders, express.static(docsAssetsDir(), { index: 'index.html', redirect: true, dotfiles: 'ignore' }));
  return router;
}

export const openApiRoutes = declareRoutes([
  {
    method: 'get',
    path: '/openapi.json',
    tag: 'Operations',
    summary: 'This document (OpenAPI 3.1); rendered for people at /docs',
    responses: { 200: { description: 'The OpenAPI document', contentType: 'application/json' } },
  },
]);

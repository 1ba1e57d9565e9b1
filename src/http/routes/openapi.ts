import { Router } from 'express';
import { declareRoutes } from '../openapi/registry';
import { servePage } from './dashboard';

/** /openapi.json (built once at start) and /docs, a page that renders it with our own script. */
export function openApiDocs(document: object): Router {
  const router = Router();
  const body = JSON.stringify(document);
  router.get('/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.type('application/json').send(body);
  });
  router.use('/docs', servePage('docs'));
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

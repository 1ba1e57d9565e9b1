import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Config } from '../../config';
import { scopeNeeded } from '../admin-scopes';
import { errorBodySchema } from '../response-schemas';
import { adminCodesRoutes } from '../routes/admin-codes';
import { adminKeysRoutes } from '../routes/admin-keys';
import { adminProductsRoutes } from '../routes/admin-products';
import { adminStatsRoutes } from '../routes/admin-stats';
import { adminTokensRoutes } from '../routes/admin-tokens';
import { clientApiRoutes } from '../routes/client-api';
import { healthRoutes } from '../routes/health';
import { marketplaceAdminRoutes } from '../marketplace/marketplace-admin';
import { marketplaceOpenApiRoutes } from '../marketplace/open-api';
import { metricsRoutes } from '../routes/metrics';
import { openApiRoutes } from '../routes/openapi';
import { outboxAdminRoutes } from '../routes/admin-outbox';
import { productionInterfaceRoutes } from '../marketplace/production-interface';
import { webhooksAdminRoutes } from '../routes/admin-webhooks';
import { wellKnownRoutes } from '../routes/well-known';
import { openApiPath, pathParamNames, type RouteDoc } from './registry';

/** Every route's declaration. A new route file adds its list here; test/openapi.test.ts says when one is missing. */
export function documentedRoutes(config: Pick<Config, 'marketplace'>): RouteDoc[] {
  return [
    ...healthRoutes,
    ...openApiRoutes,
    ...metricsRoutes,
    ...wellKnownRoutes,
    ...clientApiRoutes,
    ...adminProductsRoutes,
    ...adminCodesRoutes,
    ...adminKeysRoutes,
    ...adminTokensRoutes,
    ...adminStatsRoutes,
    ...marketplaceAdminRoutes,
    ...outboxAdminRoutes,
    ...webhooksAdminRoutes,
    ...productionInterfaceRoutes(config.marketplace.productionPath),
    ...marketplaceOpenApiRoutes,
  ];
}

type JsonSchema = Record<string, unknown>;

/**
 * Request schemas are described as they are sent (`io: 'input'`: an ISO date is a string even
 * though the handler gets a number); answers as they are produced. Strict answer objects are
 * opened up here: clients must accept fields added later. Refinements that JSON Schema cannot say
 * ("exactly one of days or expiresAt") are in the descriptions and in the 400 answers.
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      if (io === 'output' && ctx.jsonSchema.additionalProperties === false) delete ctx.jsonSchema.additionalProperties;
    },
  }) as JsonSchema;
  delete out.$schema;
  return out;
}

function parameters(route: RouteDoc): JsonSchema[] {
  const list: JsonSchema[] = [];
  const params = route.params ? (jsonSchema(route.params, 'input').properties as Record<string, JsonSchema>) : {};
  for (const name of pathParamNames(route.path)) {
    list.push({ name, in: 'path', required: true, schema: params[name] ?? { type: 'string' } });
  }
  if (route.query) {
    const query = jsonSchema(route.query, 'input');
    const required = new Set((query.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((query.properties ?? {}) as Record<string, JsonSchema>)) {
      const { description, ...rest } = schema;
      list.push({ name, in: 'query', required: required.has(name), ...(description ? { description } : {}), schema: rest });
    }
  }
  return list;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

function operation(route: RouteDoc): JsonSchema {
  const op: JsonSchema = {
    operationId: `${route.method}${openApiPath(route.path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: route.summary,
    tags: [route.tag],
  };
  if (route.description) op.description = route.description;
  const params = parameters(route);
  if (params.length > 0) op.parameters = params;
  if (route.body) {
    op.requestBody = {
      required: route.bodyRequired ?? true,
      content: { [route.bodyContentType ?? 'application/json']: { schema: jsonSchema(route.body, 'input') } },
    };
  }
  if (route.auth) op.security = route.auth.map((name) => ({ [name]: [] }));
  const declared = { ...route.responses };
  if (route.auth?.includes('adminToken')) {
    // The scope table (src/http/admin-scopes.ts) decides; the document says what it decided.
    const scope = scopeNeeded(route.method.toUpperCase(), route.path);
    op['x-licensor-scope'] = scope;
    declared[403] ??= { description: `token_scope_insufficient: this needs a "${scope}" admin token (or full)`, schema: errorBodySchema };
  }
  const responses: JsonSchema = {};
  for (const [status, answer] of Object.entries(declared)) {
    const content = answer.schema
      ? { [answer.contentType ?? 'application/json']: { schema: answer.schema === errorBodySchema ? ERROR_REF : jsonSchema(answer.schema, 'output') } }
      : answer.contentType
        ? { [answer.contentType]: { schema: { type: 'string' } } }
        : undefined;
    responses[status] = { description: answer.description, ...(content ? { content } : {}) };
  }
  op.responses = responses;
  return op;
}

const PACKAGE_JSON = [join(__dirname, '..', '..', '..', 'package.json'), join(__dirname, '..', '..', '..', '..', 'package.json')];

function packageVersion(): string {
  const file = PACKAGE_JSON.find((f) => existsSync(f));
  return file ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : '0.0.0';
}

/** The OpenAPI 3.1 document of everything this server answers, served at /openapi.json. */
export function buildOpenApiDocument(config: Pick<Config, 'marketplace'>): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of documentedRoutes(config)) {
    const path = openApiPath(route.path);
    (paths[path] ??= {})[route.method] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'licensor',
      version: packageVersion(),
      description:
        'Self-hosted authorization-code license server. Refusals outside the marketplace routes are `{ "error": { "code", "message", "details"? } }` with a 4xx status (503 when the database is away). Every answer carries `X-Request-Id`. The admin dashboard is at /admin, this document as a page at /docs.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: [
      { name: 'Client API', description: 'What the embedded client calls: activate, heartbeat, deactivate, public keys' },
      { name: 'Admin API', description: 'The operator API, behind the admin bearer token' },
      { name: 'Marketplace production interface', description: 'Called by the marketplace (KooGallery) when orders change' },
      { name: 'Marketplace-compatible open API', description: "The marketplace's license open API, served by licensor for software written against it" },
      { name: 'Operations', description: 'Health, metrics and this document' },
    ],
    paths,
    components: {
      schemas: { Error: jsonSchema(errorBodySchema, 'output') },
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'LICENSOR_ADMIN_TOKEN, or the token generated on first start (<data dir>/admin-token)' },
        leaseToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A lease token signed for this activation (or `{ "token" }` in the body)',
        },
        metricsToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'LICENSOR_METRICS_TOKEN; when it is not set /metrics is open on a loopback listener and answers 403 on any other',
        },
        apigSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=… with X-Sdk-Date (AK/SK from LICENSOR_OPENAPI_AKSK); not required when none is configured',
        },
        marketplaceSignature: {
          type: 'apiKey',
          in: 'query',
          name: 'signature',
          description: 'HMAC-SHA256 with a LICENSOR_MARKETPLACE_KEYS access key, with timestamp and nonce in the query (docs/marketplace.md §3.2)',
        },
      },
    },
  };
}

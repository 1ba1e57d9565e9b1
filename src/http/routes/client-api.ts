import { Router } from 'express';
import type { DomainContext } from '../../domain/context';
import { recordHeartbeat } from '../../domain/heartbeat';
import { activateMachine, deactivateMachine } from '../../domain/seat-allocation';
import type { Activation, LicenseCode, Product } from '../../domain/types';
import { jsonRequest } from '../json-body';
import { clientAddress, codeKey, type CodeGuessGuard } from '../rate-limit';
import { activationIdParamSchema, activationRequestSchema, deactivationRequestSchema, heartbeatRequestSchema } from '../schemas';
import { parse } from '../validate';

/** Our own client API (PRODUCT.md §3.3): activate, heartbeat, deactivate. */
export function clientApi(ctx: DomainContext, guard: CodeGuessGuard): Router {
  const router = Router();
  const json = jsonRequest('32kb');

  router.post('/v1/activations', json, async (req, res) => {
    const address = clientAddress(req);
    guard.admit(address, codeKey((req.body as { code?: unknown } | undefined)?.code));
    let result;
    try {
      result = await activateMachine(ctx, parse(activationRequestSchema, req.body), 'client');
    } catch (err) {
      guard.settle(address, err);
      throw err;
    }
    res.status(result.created ? 201 : 200).json({
      activation: activationView(result.activation),
      token: result.token,
      license: licenseView(result.code, result.product, result.code.status),
    });
  });

  // Hot path: validation, one read, one signature. Keep it that way.
  router.post('/v1/heartbeat', json, async (req, res) => {
    const body = parse(heartbeatRequestSchema, req.body);
    const answer = await recordHeartbeat(ctx, body.activationId, body.fingerprint);
    res.json({ status: answer.status, token: answer.token, license: licenseView(answer.code, answer.product, answer.status) });
  });

  router.delete('/v1/activations/:id', json, async (req, res) => {
    const { id } = parse(activationIdParamSchema, req.params, 'path');
    const token = proofToken(req.headers.authorization, req.body);
    const activation = await deactivateMachine(ctx, id, token, 'client');
    res.json({ activation: activationView(activation) });
  });

  return router;
}

/** The proof of holding an activation: a bearer token, or `{ "token" }` in the body. */
function proofToken(authorization: string | undefined, body: unknown): string {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (bearer) return bearer;
  return parse(deactivationRequestSchema, body ?? {}).token;
}

export function activationView(a: Activation) {
  return {
    id: a.id,
    status: a.status,
    createdAt: new Date(a.createdAt).toISOString(),
    lastHeartbeatAt: new Date(a.lastHeartbeatAt).toISOString(),
    endedAt: a.endedAt === null ? null : new Date(a.endedAt).toISOString(),
    cloneSuspect: a.cloneSuspect,
  };
}

export function licenseView(code: LicenseCode, product: Product, status: string) {
  return {
    status,
    expiresAt: new Date(code.expiresAt).toISOString(),
    seats: code.seats,
    features: code.features,
    product: product.name,
    seatMode: product.seatMode,
    leaseSeconds: product.leaseSeconds,
    heartbeatIntervalSeconds: product.heartbeatIntervalSeconds,
  };
}

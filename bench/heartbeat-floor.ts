import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { createServer } from 'node:http';

/**
 * The floor under a signed-lease heartbeat on Node: the least work one can do, to measure
 * licensor's heartbeat against (bench/heartbeat.ts). `node:http`; JSON.parse of the same body; a
 * Map lookup of the activation (filled on first sight: after the warm-up every lookup finds it);
 * one Ed25519 signature of a JWT carrying the request's nonce, made on libuv's thread pool
 * (crypto.sign with a callback); a JSON answer of the heartbeat's shape and size. No validation,
 * no proof of possession, no storage, no answer signature: whatever licensor does beyond this is
 * what the ratio measures.
 */
const { privateKey } = generateKeyPairSync('ed25519');
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const header = b64({ alg: 'EdDSA', typ: 'JWT', kid: 'floor' });

interface Seat {
  codeId: string;
  fingerprint: unknown;
}
const seats = new Map<string, Seat>();

const license = {
  status: 'alive',
  expiresAt: new Date(Date.now() + 365 * 86_400_000).toISOString(),
  seats: 1,
  features: [],
  product: 'bench',
  seatMode: 'node_locked',
  leaseSeconds: 604800,
  heartbeatIntervalSeconds: 3600,
};

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { activationId: string; fingerprint: unknown };
    let seat = seats.get(body.activationId);
    if (!seat) seats.set(body.activationId, (seat = { codeId: randomUUID(), fingerprint: body.fingerprint }));
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: 'licensor',
      aud: 'bench',
      sub: seat.codeId,
      jti: randomUUID(),
      iat: now,
      nbf: now,
      exp: now + 604800,
      license: { status: 'alive', expiresAt: now + 365 * 86_400, seats: 1, features: [], seatMode: 'node_locked' },
      activation: { id: body.activationId, fingerprint: seat.fingerprint },
      heartbeat: { intervalSeconds: 3600 },
      nonce: req.headers['licensor-nonce'],
    };
    const input = `${header}.${b64(claims)}`;
    sign(null, Buffer.from(input), privateKey, (err, signature) => {
      if (err) {
        res.statusCode = 500;
        res.end();
        return;
      }
      const answer = JSON.stringify({ status: 'alive', token: `${input}.${signature.toString('base64url')}`, license, update: null });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`heartbeat floor listening on http://127.0.0.1:${address.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

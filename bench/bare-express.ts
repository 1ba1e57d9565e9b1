import { createServer } from 'node:http';
import express from 'express';
import { expressMessageClasses } from '../src/http/heartbeat/message-classes';

/**
 * The ceiling the heartbeat is measured against: Express with the JSON body parser, answering a
 * body of the heartbeat's size. Same machine, same run.
 *
 * `--express-classes`: the same route on a server that builds its requests and responses as
 * Express ones from birth, as licensor's does (src/http/heartbeat/message-classes.ts). Plain Express is the
 * issue's baseline; this one shows how much of the ratio that one change is.
 */
const app = express();
app.use(express.json());
const answer = { status: 'alive', token: 'x'.repeat(760), license: { status: 'alive', expiresAt: new Date().toISOString(), seats: 1, features: [] } };
app.post('/v1/heartbeat', (_req, res) => {
  res.json(answer);
});
const withClasses = process.argv.includes('--express-classes');
const server = createServer(withClasses ? expressMessageClasses(app) : {}, app);
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`bare express${withClasses ? ' (Express classes)' : ''} listening on http://127.0.0.1:${address.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

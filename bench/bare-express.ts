import express from 'express';

/**
 * The ceiling the heartbeat is measured against: Express with the JSON body parser, answering a
 * body of the heartbeat's size. Same machine, same run.
 */
const app = express();
app.use(express.json());
const answer = { status: 'alive', token: 'x'.repeat(760), license: { status: 'alive', expiresAt: new Date().toISOString(), seats: 1, features: [] } };
app.post('/v1/heartbeat', (_req, res) => {
  res.json(answer);
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`bare express listening on http://127.0.0.1:${address.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

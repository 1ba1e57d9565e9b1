import type { Request, Response } from 'express';

/**
 * The requests this server is answering right now (from arrival to their response's close,
 * finished or abandoned) and the connections they came on (until the socket closes). The
 * signature scheduler asks whether a heartbeat is alone: one request on one connection.
 */
export class RequestsInFlight {
  private requests = 0;
  private connections = 0;
  private readonly seen = new WeakSet<object>();

  get current(): number {
    return this.requests;
  }

  get openConnections(): number {
    return this.connections;
  }

  /** Nothing else is being answered, and no other client is connected to ask. */
  alone(): boolean {
    return this.requests <= 1 && this.connections <= 1;
  }

  /** Counts a request until its response closes, and its connection until that closes. */
  track(req: Request, res: Response): void {
    this.requests++;
    res.on('close', this.requestClosed);
    const socket = req.socket;
    if (!this.seen.has(socket)) {
      this.seen.add(socket);
      this.connections++;
      socket.once('close', this.connectionClosed);
    }
  }

  // One function for every response and connection: no closure per request.
  private readonly requestClosed = (): void => {
    this.requests--;
  };

  private readonly connectionClosed = (): void => {
    this.connections--;
  };
}

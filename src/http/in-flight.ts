import type { Response } from 'express';

/**
 * Counts the requests this server is answering right now, from their arrival to their response's
 * close (finished or abandoned). The signature scheduler asks it whether a heartbeat is alone.
 */
export class RequestsInFlight {
  private count = 0;

  get current(): number {
    return this.count;
  }

  /** Counts a request until its response closes. */
  track(res: Response): void {
    this.count++;
    res.on('close', this.closed);
  }

  // One function for every response: no closure per request.
  private readonly closed = (): void => {
    this.count--;
  };
}

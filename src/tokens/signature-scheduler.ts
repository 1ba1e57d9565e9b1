import { sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';

interface PendingSignature {
  algorithm: string | null;
  data: Buffer;
  key: KeyObject | SignKeyObjectInput;
  resolve(signature: Buffer): void;
  reject(err: unknown): void;
}

/**
 * Decides where a signature is computed. An Ed25519 signature costs about as much as a whole bare
 * Express request (docs/performance.md): made on the event loop, it holds every other request.
 * Signatures asked for in the same turn of the event loop (overlapping requests) are computed on
 * libuv's thread pool, beside the loop; a lone one is computed inline, where a thread hop would
 * only add latency.
 *
 * Telling "lone" takes waiting for the end of the loop turn, which costs a request that is alone
 * another turn. A server that counts the requests it is answering says so (`countRequestsWith`):
 * with only the asking one in flight, nothing can overlap it, and it is signed at once.
 */
export class SignatureScheduler {
  private queue: PendingSignature[] = [];
  private requestsInFlight: (() => number) | null = null;

  countRequestsWith(probe: () => number): void {
    this.requestsInFlight = probe;
  }

  sign(algorithm: string | null, data: Buffer, key: KeyObject | SignKeyObjectInput): Promise<Buffer> {
    if (this.queue.length === 0 && this.requestsInFlight !== null && this.requestsInFlight() <= 1) {
      try {
        return Promise.resolve(sign(algorithm, data, key));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ algorithm, data, key, resolve, reject });
      if (this.queue.length === 1) setImmediate(this.drain);
    });
  }

  private drain = (): void => {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 1) {
      const only = batch[0]!;
      try {
        only.resolve(sign(only.algorithm, only.data, only.key));
      } catch (err) {
        only.reject(err);
      }
      return;
    }
    for (const item of batch) {
      try {
        sign(item.algorithm, item.data, item.key, (err, signature) => (err ? item.reject(err) : item.resolve(signature)));
      } catch (err) {
        // A key of the wrong type is refused before the job is queued.
        item.reject(err);
      }
    }
  };
}

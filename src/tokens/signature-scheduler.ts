import { sign, verify, type KeyObject, type SignKeyObjectInput, type VerifyKeyObjectInput } from 'node:crypto';

/** What the server says of its load: whether the request being answered is alone on it. */
export interface RequestLoad {
  alone(): boolean;
}

interface PendingSignature {
  algorithm: string | null;
  data: Buffer;
  key: KeyObject | SignKeyObjectInput;
  resolve(signature: Buffer): void;
  reject(err: unknown): void;
}

/**
 * Decides where a signature is computed. An Ed25519 signature costs about as much as a whole bare
 * Express request (docs/performance.md#why-signing-goes-to-the-thread-pool): made on the event
 * loop, it holds every other request.
 *
 * A server that knows whether the asking request is alone says so (its RequestLoad, wired in
 * src/runtime.ts from the HTTP server's requests in flight): a lone one
 * (one connection, one request) is signed inline at once, where a thread hop would only add
 * latency; any other goes straight to libuv's thread pool, so the loop takes the next request
 * meanwhile (measurably better at 16 connections than signing inline whenever the request in hand
 * happened to be the only one). Without that knowledge (the CLI, tests),
 * signatures asked for in the same turn of the event loop go to the thread pool together and a
 * lone one is signed inline at the end of the turn.
 */
export class SignatureScheduler {
  private queue: PendingSignature[] = [];

  constructor(private readonly load: RequestLoad | null = null) {}

  sign(algorithm: string | null, data: Buffer, key: KeyObject | SignKeyObjectInput): Promise<Buffer> {
    if (this.load !== null) return this.load.alone() ? signInline(algorithm, data, key) : signOnThreadPool(algorithm, data, key);
    return new Promise((resolve, reject) => {
      this.queue.push({ algorithm, data, key, resolve, reject });
      if (this.queue.length === 1) setImmediate(this.drain);
    });
  }

  /**
   * Verifies a signature: inline for a lone request or without knowledge of the load (a verify is
   * asked for one at a time), on the thread pool otherwise. False for any failure.
   */
  verify(algorithm: string | null, data: Buffer, key: KeyObject | VerifyKeyObjectInput, signature: Buffer): Promise<boolean> {
    if (this.load === null || this.load.alone()) {
      try {
        return Promise.resolve(verify(algorithm, data, key, signature));
      } catch {
        return Promise.resolve(false);
      }
    }
    return new Promise((resolve) => {
      try {
        verify(algorithm, data, key, signature, (err, valid) => resolve(err === null && valid));
      } catch {
        resolve(false);
      }
    });
  }

  private drain = (): void => {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 1) {
      signInline(batch[0]!.algorithm, batch[0]!.data, batch[0]!.key).then(batch[0]!.resolve, batch[0]!.reject);
      return;
    }
    for (const item of batch) signOnThreadPool(item.algorithm, item.data, item.key).then(item.resolve, item.reject);
  };
}

/** On the event loop, now. */
function signInline(algorithm: string | null, data: Buffer, key: KeyObject | SignKeyObjectInput): Promise<Buffer> {
  try {
    return Promise.resolve(sign(algorithm, data, key));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** On libuv's thread pool. */
function signOnThreadPool(algorithm: string | null, data: Buffer, key: KeyObject | SignKeyObjectInput): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    try {
      sign(algorithm, data, key, (err, signature) => (err ? reject(err) : resolve(signature)));
    } catch (err) {
      // A key of the wrong type is refused before the job is queued.
      reject(err);
    }
  });
}

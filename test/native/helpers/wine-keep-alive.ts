/**
 * Preloaded (node --require) into node.exe under Wine only, by test/support/emulation.ts.
 * Wine 8 fails a TCP socket whose keep-alive is set before it has connected ("connect UNKNOWN"),
 * which fetch (undici) does for every connection; Windows does not. Setting it once connected
 * is the same to the program.
 */
import { Socket } from 'node:net';

const setKeepAlive = Socket.prototype.setKeepAlive;
Socket.prototype.setKeepAlive = function (this: Socket, ...args: Parameters<Socket['setKeepAlive']>): Socket {
  if (this.connecting) {
    this.once('connect', () => setKeepAlive.apply(this, args));
    return this;
  }
  return setKeepAlive.apply(this, args);
};

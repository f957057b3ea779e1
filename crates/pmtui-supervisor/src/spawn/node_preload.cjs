// pmtui's cluster preload for Node (loaded with `node --require` when an app holds sockets).
// It makes a plain `server.listen(PORT)` (net, http, https, express, …) use the socket the
// pmtui daemon holds for that port, or for that unix path, so that every instance shares it
// as pm2's cluster mode does, without a change to the app. Any other listen is left alone.
'use strict';
(function pmtuiClusterPreload() {
  const env = process.env;
  // The sockets are this process's only: a child Node process inherits the variables, not
  // the right to the sockets (systemd's LISTEN_PID rule).
  if (env.LISTEN_PID !== String(process.pid)) return;
  let addresses;
  try {
    addresses = JSON.parse(env.PMTUI_LISTEN || '[]');
  } catch (_) {
    return;
  }
  const byPort = new Map();
  const byPath = new Map();
  addresses.forEach((address, i) => {
    const fd = 3 + i;
    const tcp = /^tcp:\/\/.*:(\d+)$/.exec(address);
    if (tcp) {
      const port = Number(tcp[1]);
      if (!byPort.has(port)) byPort.set(port, fd);
    } else if (address.startsWith('unix:')) {
      byPath.set(address.slice('unix:'.length), fd);
    }
  });
  if (byPort.size === 0 && byPath.size === 0) return;

  const net = require('net');
  const original = net.Server.prototype.listen;

  function heldFd(args) {
    const first = args[0];
    if (first !== null && typeof first === 'object') {
      if (first.fd !== undefined || first.handle !== undefined || first._handle !== undefined) {
        return undefined;
      }
      if (first.path !== undefined) return byPath.get(String(first.path));
      if (first.port !== undefined) return byPort.get(Number(first.port));
      return undefined;
    }
    if (typeof first === 'string' && !/^\d+$/.test(first)) return byPath.get(first);
    if (typeof first === 'number' || typeof first === 'string') {
      const port = Number(first);
      if (Number.isInteger(port) && port > 0) return byPort.get(port);
    }
    return undefined;
  }

  net.Server.prototype.listen = function pmtuiListen(...args) {
    const fd = heldFd(args);
    if (fd === undefined) return original.apply(this, args);
    const last = args[args.length - 1];
    const callback = typeof last === 'function' ? last : undefined;
    // Tell the daemon the app accepts (a reload's "ready" when nothing better is set up).
    this.once('listening', () => {
      if (typeof process.send === 'function') {
        try {
          process.send('pmtui:listening');
        } catch (_) {
          // No channel: the daemon falls back to listen_timeout.
        }
      }
    });
    return callback ? original.call(this, { fd }, callback) : original.call(this, { fd });
  };
})();

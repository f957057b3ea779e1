// pmtui's preload for Node (loaded with `node --require`). Two independent parts:
//
// 1. Runtime metrics (when the daemon sets PMTUI_NODE_METRICS, the interval in ms): about
//    once per interval, event-loop lag (mean and p99, from perf_hooks.monitorEventLoopDelay),
//    heap used/total and active handles go to the daemon over the IPC channel as
//    {"pmtui:metrics": {...}}. It must cost the app almost nothing and never hurt it: the
//    timer is unref'd (it never keeps the app alive), everything is in try/catch, at most
//    one report is in flight (a slow daemon never queues memory in the app), and without an
//    IPC channel it is silently off. The variable is removed at once, so a Node child that
//    inherits our --require through execArgv (fork, cluster) reports nothing to its parent.
//
// 2. Cluster sockets (when the app holds sockets). It makes a plain `server.listen(PORT)` (net, http, https, express, …) use the socket the
// pmtui daemon holds for that port, or for that unix path, so that every instance shares it
// as pm2's cluster mode does, without a change to the app. Any other listen is left alone.
'use strict';
(function pmtuiNodeMetrics() {
  let every;
  try {
    every = Number(process.env.PMTUI_NODE_METRICS);
    delete process.env.PMTUI_NODE_METRICS;
  } catch (_) {
    return;
  }
  if (!(every > 0) || typeof process.send !== 'function') return;
  // Node's own send, taken before the app runs: an app that replaces process.send (a
  // wrapper, a test double) neither sees nor breaks these reports.
  const send = process.send.bind(process);
  every = Math.min(Math.max(every, 250), 60000);
  try {
    const { monitorEventLoopDelay } = require('perf_hooks');
    // A coarse resolution keeps the monitor's own wake-ups rare; a lag shorter than it is
    // not seen, which matters little.
    const resolution = 20;
    let histogram = null;
    if (typeof monitorEventLoopDelay === 'function') {
      histogram = monitorEventLoopDelay({ resolution });
      histogram.enable();
    }
    let inflight = false;
    const ms = (ns) => Math.max(0, ns / 1e6 - resolution);
    const report = () => {
      try {
        if (inflight || !process.connected) return;
        const values = {};
        if (histogram && histogram.count > 0) {
          values.node_event_loop_lag_ms = Math.round(ms(histogram.mean) * 100) / 100;
          values.node_event_loop_lag_p99_ms = Math.round(ms(histogram.percentile(99)) * 100) / 100;
          histogram.reset();
        }
        const memory = process.memoryUsage();
        values.node_heap_used_bytes = memory.heapUsed;
        values.node_heap_total_bytes = memory.heapTotal;
        if (typeof process.getActiveResourcesInfo === 'function') {
          values.node_active_handles = process.getActiveResourcesInfo().length;
        } else if (typeof process._getActiveHandles === 'function') {
          values.node_active_handles = process._getActiveHandles().length;
        }
        inflight = true;
        // The callback takes the channel's errors: without one, a send on a closed channel
        // would emit 'error' on process, and an unhandled 'error' ends the app.
        send({ 'pmtui:metrics': values }, undefined, undefined, () => {
          inflight = false;
        });
      } catch (_) {
        inflight = false;
      }
    };
    const timer = setInterval(report, every);
    timer.unref();
  } catch (_) {
    // Metrics are a nicety: whatever failed, the app runs on without them.
  }
})();

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

// A tiny Node.js server for the pmtui example; closes cleanly on SIGTERM.
const http = require('http');

const port = Number(process.env.PORT || 3000);
const server = http.createServer((req, res) => {
  res.end(JSON.stringify({ ok: true, pid: process.pid, path: req.url }) + '\n');
});
server.listen(port, '127.0.0.1', () => console.log(`api listening on http://127.0.0.1:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

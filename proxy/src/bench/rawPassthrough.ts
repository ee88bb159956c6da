import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The floor: the least any Node proxy must do. Pipes each request to UPSTREAM_URL's host over
 * keep-alive connections and the response back, no parsing, no logging. Tollgate/raw is the cost
 * of what Tollgate does on top. Prints "raw pass-through listening on http://HOST:PORT/v1".
 */
const upstream = new URL(process.env['UPSTREAM_URL'] ?? 'http://127.0.0.1:8090/v1');
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer((req, res) => {
  const options = { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent };
  const up = http.request(options, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  up.on('error', () => res.destroy());
  res.on('close', () => res.writableFinished || up.destroy());
  req.pipe(up);
});
server.keepAliveTimeout = 65_000;
server.on('error', (err) => (console.error(`raw pass-through could not start: ${err.message}`), process.exit(1)));
server.listen(Number(process.env['PORT'] || 0), process.env['HOST'] || '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(`raw pass-through listening on http://${address}:${port}/v1`);
});

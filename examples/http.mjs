// node:http over ptnet-ts sockets: Node's own HTTP server and client, their bytes carried by two
// unikernels on a VALE switch. The server side hands each accepted ptnet socket to an
// http.Server with emit('connection'); the client side gives http.get a createConnection that
// opens a ptnet socket. Prints one JSON line; exits on its own.
import http from 'node:http';
import { Unikernel, ValeSwitch } from 'ptnet-ts';

const vale = new ValeSwitch('vale0', { vnetHdrLen: 12 });
const a = await Unikernel.boot({ port: vale.attach('a'), ipv4: '10.0.0.1/24' });
const b = await Unikernel.boot({ port: vale.attach('b'), ipv4: '10.0.0.2/24' });

const web = http.createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from ${req.socket.localAddress}, you asked for ${req.url}\n`);
});
const listener = a.net.createServer((socket) => web.emit('connection', socket)).listen(80);

const { status, body } = await new Promise((resolve, reject) => {
  const req = http.get(
    {
      path: '/greeting',
      headers: { host: '10.0.0.1' },
      // No agent: http then opens each connection with createConnection.
      createConnection: () => b.net.createConnection({ host: '10.0.0.1', port: 80 }),
    },
    (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    },
  );
  req.on('error', reject);
});

listener.close();
web.close();
await b.close();
await a.close();
await vale.close();
process.stdout.write(`${JSON.stringify({ status, body })}\n`);

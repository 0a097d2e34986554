// kinesalite 3.3.3 as a benchmark server: in-memory (its default and fastest store), bound to
// 127.0.0.1 on a free port, streams ACTIVE at once. Plain JS on purpose, so the measured process
// carries no TypeScript loader.
//
// Two differences from `node_modules/.bin/kinesalite`, both needed to measure it at all:
//  - it listens on 127.0.0.1 (the stock CLI binds every interface) and prints a JSON ready line;
//  - it survives the crash described in shared/research/perf-baseline.md note 7: under keep-alive
//    load Node resets some sockets (HPE_PAUSED) and kinesalite rethrows the request error from
//    `req.on('error')`, which kills the stock process. Those errors are counted and logged instead.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const kinesalite = require('kinesalite');

const portArg = process.argv.indexOf('--port');
const port = portArg >= 0 ? Number(process.argv[portArg + 1]) : 0;

let uncaught = 0;
const codes = {};
process.on('uncaughtException', (error) => {
  uncaught++;
  const code = (error && error.code) || (error && error.name) || 'unknown';
  codes[code] = (codes[code] || 0) + 1;
  if (uncaught <= 5)
    console.error(JSON.stringify({ msg: 'kinesalite uncaught exception (kept serving)', code, error: String(error) }));
});

const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
server.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'kinesalite listening', port: server.address().port, pid: process.pid }));
});

process.on('SIGTERM', () => {
  console.log(JSON.stringify({ msg: 'kinesalite stopping', uncaughtExceptions: uncaught, codes }));
  process.exit(0);
});

#!/usr/bin/env node
// Peer benchmark: plainjob (SQLite job queue) on better-sqlite3.
// Usage: node bench.js --jobs 20000 --workers 2 --db /tmp/peer_plainjob.db [--chains 500] [--poll 0]
// Prints one JSON object on stdout. See README.md for metric definitions.
'use strict';

const fs = require('fs');
const path = require('path');
const { fork } = require('child_process');
const { performance } = require('perf_hooks');
const Database = require('better-sqlite3');

// Wall clock with sub-ms precision that is comparable across processes
// (hrtime/performance.now() alone are per-process).
const wallMs = () => performance.timeOrigin + performance.now();

const silentLogger = { error() {}, warn() {}, info() {}, debug() {} };

function parseArgs(argv) {
  const a = { jobs: 20000, workers: 2, db: '/tmp/peer_plainjob_bench.db', chains: 500, poll: 0, worker: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--worker') a.worker = true;
    else if (k === '--jobs') a.jobs = parseInt(argv[++i], 10);
    else if (k === '--workers') a.workers = parseInt(argv[++i], 10);
    else if (k === '--db') a.db = argv[++i];
    else if (k === '--chains') a.chains = parseInt(argv[++i], 10);
    else if (k === '--poll') a.poll = parseInt(argv[++i], 10);
    else throw new Error(`unknown argument: ${k}`);
  }
  return a;
}

function pkgVersion(name) {
  // Walk up from the resolved entry point to the package's own package.json.
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      const j = JSON.parse(fs.readFileSync(p, 'utf8'));
      if (j.name === name) return j.version;
    }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

// Open a connection and set the pragmas explicitly. plainjob's defineQueue()
// also runs journal_mode=WAL, synchronous=1 (NORMAL), busy_timeout=5000 on the
// connection it is given; we set the same values first so the setting does not
// depend on the library.
function openDb(file) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

async function loadPlainjob() {
  return import('plainjob'); // ESM-only package
}

// --------------------------------------------------------------------------
// Worker process
// --------------------------------------------------------------------------
async function workerMain(args) {
  const { better, defineQueue, defineWorker } = await loadPlainjob();
  const db = openDb(args.db);
  const queue = defineQueue({ connection: better(db), logger: silentLogger });

  let completed = 0;
  let lastDoneWall = 0;
  const handlerEnd = new Map(); // job id -> wall time A's handler finished

  const worker = defineWorker(
    'bench',
    (job) => {
      // Drain jobs carry data "0": pure no-op.
      if (job.data === '0') return;
      const d = JSON.parse(job.data);
      if (d.k === 'A') {
        // Side metric: parent's add() -> A's handler start, workers idle-polling.
        process.send({ type: 'pickup', lat: wallMs() - d.tEnq });
        handlerEnd.set(job.id, wallMs()); // last thing A's handler does
      } else if (d.k === 'B') {
        const start = wallMs(); // first thing B's handler does
        process.send({ type: 'lat', i: d.i, lat: start - d.tEnd, pid: process.pid, aPid: d.pid });
      }
    },
    {
      queue,
      logger: silentLogger,
      pollIntervall: args.poll, // sic: plainjob's option name; 0 => setTimeout(0) => ~1 ms
      onCompleted: (job) => {
        // Runs synchronously right after markJobAsDone() committed A's status.
        completed++;
        lastDoneWall = wallMs();
        if (job.data !== '0') {
          const tEnd = handlerEnd.get(job.id);
          if (tEnd !== undefined) {
            handlerEnd.delete(job.id);
            const d = JSON.parse(job.data);
            queue.add('bench', { k: 'B', i: d.i, tEnd, pid: process.pid });
          }
        }
      },
    }
  );

  let running;
  process.on('message', async (m) => {
    if (m.type === 'start') {
      running = worker.start();
    } else if (m.type === 'stats') {
      process.send({ type: 'stats', completed, lastDoneWall });
    } else if (m.type === 'exit') {
      await worker.stop();
      await running;
      queue.close();
      process.exit(0);
    }
  });
  // Report the pragmas actually in effect on this connection (after plainjob's own setup).
  process.send({
    type: 'ready',
    journal_mode: db.pragma('journal_mode', { simple: true }),
    synchronous: db.pragma('synchronous', { simple: true }),
  });
}

// --------------------------------------------------------------------------
// Parent process
// --------------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function waitFor(child, type) {
  return new Promise((resolve) => {
    const h = (m) => {
      if (m && m.type === type) {
        child.off('message', h);
        resolve(m);
      }
    };
    child.on('message', h);
  });
}

function pct(sorted, p) {
  // nearest-rank percentile
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

const r3 = (x) => Math.round(x * 1000) / 1000;

async function parentMain(args) {
  const { better, defineQueue, JobStatus } = await loadPlainjob();
  for (const suf of ['', '-wal', '-shm']) fs.rmSync(args.db + suf, { force: true });

  const db = openDb(args.db);
  const queue = defineQueue({ connection: better(db), logger: silentLogger });
  const countDone = db.prepare(`SELECT COUNT(*) AS n FROM plainjob_jobs WHERE status = ${JobStatus.Done}`);
  const countFailed = db.prepare(`SELECT COUNT(*) AS n FROM plainjob_jobs WHERE status = ${JobStatus.Failed}`);

  // ---- ENQUEUE: queue.addMany() = one better-sqlite3 transaction of N INSERTs.
  const payload = new Array(args.jobs).fill(0);
  const t0 = performance.now();
  const { ids } = queue.addMany('bench', payload);
  const enqueueMs = performance.now() - t0;
  if (ids.length !== args.jobs) throw new Error('addMany returned wrong id count');

  // ---- fork workers; wait until each has opened its connection and prepared statements.
  const children = [];
  for (let i = 0; i < args.workers; i++) {
    const c = fork(__filename, ['--worker', '--db', args.db, '--poll', String(args.poll)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    children.push(c);
  }
  const readies = await Promise.all(children.map((c) => waitFor(c, 'ready')));
  for (const r of [{ journal_mode: db.pragma('journal_mode', { simple: true }), synchronous: db.pragma('synchronous', { simple: true }) }, ...readies]) {
    // synchronous: 1 == NORMAL
    if (String(r.journal_mode).toLowerCase() !== 'wal' || r.synchronous !== 1) throw new Error(`unexpected pragmas: ${JSON.stringify(r)}`);
  }

  // ---- DRAIN: from "start" sent to workers until the last job is marked done.
  const drainStartWall = wallMs();
  for (const c of children) c.send({ type: 'start' });
  for (;;) {
    if (countDone.get().n >= args.jobs) break;
    await sleep(1);
  }
  const polledEndWall = wallMs();
  const stats = await Promise.all(children.map((c) => { const p = waitFor(c, 'stats'); c.send({ type: 'stats' }); return p; }));
  const completedByWorkers = stats.map((s) => s.completed);
  const drainEndWall = Math.max(...stats.map((s) => s.lastDoneWall));
  const drainMs = drainEndWall - drainStartWall;
  const failed = countFailed.get().n;

  // ---- DISPATCH LATENCY: sequential chains A -> B on an otherwise idle queue.
  // Parent enqueues A; the worker running A enqueues B from onCompleted (i.e.
  // after A is committed as done). Sample = B handler start - A handler end.
  const lats = [];
  const pickups = [];
  let sameWorker = 0;
  const latWaiters = new Map();
  for (const c of children) {
    c.on('message', (m) => {
      if (m.type === 'pickup') pickups.push(m.lat);
      if (m.type === 'lat') {
        lats.push(m.lat);
        if (m.pid === m.aPid) sameWorker++;
        const w = latWaiters.get(m.i);
        if (w) { latWaiters.delete(m.i); w(); }
      }
    });
  }
  for (let i = 0; i < args.chains; i++) {
    // Let both workers fall back into their idle poll sleep before the next chain,
    // so A is picked up by polling (not by a worker still in its busy loop).
    await sleep(5);
    const done = new Promise((r) => latWaiters.set(i, r));
    queue.add('bench', { k: 'A', i, tEnq: wallMs() });
    await done;
  }

  for (const c of children) c.send({ type: 'exit' });
  await Promise.all(children.map((c) => new Promise((r) => c.on('exit', r))));
  queue.close();

  lats.sort((a, b) => a - b);
  pickups.sort((a, b) => a - b);
  const out = {
    peer: 'plainjob',
    plainjob_version: pkgVersion('plainjob'),
    better_sqlite3_version: pkgVersion('better-sqlite3'),
    jobs: args.jobs,
    enqueue_jobs_per_s: Math.round(args.jobs / (enqueueMs / 1000)),
    drain_jobs_per_s: Math.round(args.jobs / (drainMs / 1000)),
    dispatch_p50_ms: r3(pct(lats, 50)),
    dispatch_p99_ms: r3(pct(lats, 99)),
    poll_interval_ms: args.poll,
    idle_pickup_p50_ms: r3(pct(pickups, 50)),
    idle_pickup_p99_ms: r3(pct(pickups, 99)),
    workers: args.workers,
    chains: lats.length,
    notes:
      `enqueue=queue.addMany (1 txn, ${args.jobs} INSERTs) took ${r3(enqueueMs)} ms; ` +
      `drain ${r3(drainMs)} ms (parent-poll end ${r3(polledEndWall - drainStartWall)} ms), per-worker ${completedByWorkers.join('/')}, failed ${failed}; ` +
      `claim = BEGIN IMMEDIATE;SELECT id;UPDATE;COMMIT + SELECT by id + UPDATE status=done (autocommit), plus a BEGIN IMMEDIATE scheduled-jobs check per loop; ` +
      `pollIntervall=${args.poll} (plainjob accepts 0 => setTimeout(0) ~1 ms, only sleeps when no job found); ` +
      `dispatch: ${lats.length} sequential A->B chains (5 ms idle gap between chains), B added in onCompleted of A (after A marked done), same worker ran B in ${sameWorker}/${lats.length}; ` +
      `pragmas journal_mode=WAL synchronous=NORMAL busy_timeout=5000 on every connection; sqlite ${new Database(':memory:').prepare('select sqlite_version() v').get().v}; node ${process.version}`,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

const args = parseArgs(process.argv.slice(2));
(args.worker ? workerMain(args) : parentMain(args)).catch((e) => {
  console.error(e);
  process.exit(1);
});

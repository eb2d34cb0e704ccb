#!/usr/bin/env node
// Peer benchmark: graphile-worker (PostgreSQL job queue), drain rate of no-op jobs.
// Usage: node bench.js --url postgresql://USER@HOST:PORT [--db graphile_bench]
//                      [--jobs 20000] [--workers 2]
// Drops and recreates database --db on that server, runs graphile-worker's
// migrations into it, enqueues --jobs no-op jobs (not timed), then times how
// long --workers worker processes take to run them all. Prints one JSON object
// on stdout. See README.md for every setting and why.
'use strict';

const fs = require('fs');
const path = require('path');
const { fork } = require('child_process');
const { performance } = require('perf_hooks');
const { Client } = require('pg');

// Wall clock with sub-ms precision, comparable across processes.
const wallMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const r3 = (x) => Math.round(x * 1000) / 1000;

function parseArgs(argv) {
  const a = { url: null, db: 'graphile_bench', jobs: 20000, workers: 2, worker: false, conn: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--worker') a.worker = true;
    else if (k === '--conn') a.conn = argv[++i];
    else if (k === '--url') a.url = argv[++i];
    else if (k === '--db') a.db = argv[++i];
    else if (k === '--jobs') a.jobs = parseInt(argv[++i], 10);
    else if (k === '--workers') a.workers = parseInt(argv[++i], 10);
    else throw new Error(`unknown argument: ${k}`);
  }
  if (!a.worker && !a.url) throw new Error('--url postgresql://USER@HOST:PORT is required');
  if (!/^[a-z_][a-z0-9_]*$/.test(a.db)) throw new Error(`bad --db name: ${a.db}`);
  return a;
}

function pkgVersion(name) {
  // graphile-worker 0.18 uses package "exports": read package.json from disk.
  const p = path.join(__dirname, 'node_modules', name, 'package.json');
  return JSON.parse(fs.readFileSync(p, 'utf8')).version;
}

// graphile-worker's default logger prints an info line per completed job
// ("Completed task N (noop, x ms)"). Keep warnings and errors on stderr, drop
// the rest (the plainjob peer and Atelier's workers print nothing per job).
function quietLogger(Logger) {
  return new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') process.stderr.write(`[graphile ${level}] ${message}\n`);
  });
}

// --------------------------------------------------------------------------
// Worker process: one graphile-worker runner with concurrency 1.
// --------------------------------------------------------------------------
async function workerMain(args) {
  const { run, Logger } = require('graphile-worker');
  let completed = 0;
  let failed = 0;
  let firstJobWall = 0;
  let lastJobWall = 0;
  let runner = null;
  process.on('message', async (m) => {
    if (m.type === 'start') {
      runner = await run({
        connectionString: args.conn,
        concurrency: 1,
        noHandleSignals: true,
        logger: quietLogger(Logger),
        taskList: { noop: async () => {} },
      });
      runner.events.on('job:success', () => {
        const t = wallMs();
        if (completed === 0) firstJobWall = t;
        completed++;
        lastJobWall = t;
      });
      runner.events.on('job:error', () => { failed++; });
      process.send({ type: 'running' });
    } else if (m.type === 'exit') {
      if (runner) {
        await runner.stop();
        await runner.promise;
      }
      process.send({ type: 'stats', completed, failed, firstJobWall, lastJobWall });
      process.disconnect();
    }
  });
  process.send({ type: 'ready' });
}

// --------------------------------------------------------------------------
// Parent process
// --------------------------------------------------------------------------
function waitFor(child, type) {
  return new Promise((resolve, reject) => {
    const onMsg = (m) => {
      if (m && m.type === type) {
        child.off('message', onMsg);
        child.off('exit', onExit);
        resolve(m);
      }
    };
    const onExit = (code) => reject(new Error(`worker ${child.pid} exited (${code}) before "${type}"`));
    child.on('message', onMsg);
    child.on('exit', onExit);
  });
}

async function parentMain(args) {
  const { runMigrations, makeWorkerUtils, Logger } = require('graphile-worker');
  const base = args.url.replace(/\/+$/, '');
  const conn = `${base}/${args.db}`;
  const logger = quietLogger(Logger);

  // Fresh database per round.
  const admin = new Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${args.db} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${args.db}`);
  const pgVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
  const durability = (await admin.query(
    "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) AS s FROM pg_settings " +
    "WHERE name IN ('fsync','synchronous_commit','full_page_writes','wal_level')")).rows[0].s;
  await admin.end();

  await runMigrations({ connectionString: conn, logger });

  // ---- ENQUEUE (not part of the drain figure): one addJobs() call, i.e. one
  // SELECT graphile_worker.add_jobs(array of N job specs).
  const utils = await makeWorkerUtils({ connectionString: conn, logger });
  const specs = new Array(args.jobs);
  for (let i = 0; i < args.jobs; i++) specs[i] = { identifier: 'noop', payload: {} };
  const te0 = performance.now();
  const added = await utils.addJobs(specs);
  const enqueueMs = performance.now() - te0;
  await utils.release();
  if (added.length !== args.jobs) throw new Error(`addJobs returned ${added.length} jobs`);

  const db = new Client({ connectionString: conn });
  await db.connect();
  const queued = Number((await db.query('SELECT count(*) AS n FROM graphile_worker._private_jobs')).rows[0].n);
  if (queued !== args.jobs) throw new Error(`expected ${args.jobs} queued jobs, found ${queued}`);
  await db.query('CHECKPOINT'); // the enqueue's dirty pages are not flushed during the drain

  // ---- fork workers; each loads graphile-worker and waits for "start".
  const children = [];
  for (let i = 0; i < args.workers; i++) {
    children.push(fork(__filename, ['--worker', '--conn', conn], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  }
  await Promise.all(children.map((c) => waitFor(c, 'ready')));

  // ---- DRAIN: from "start" sent to the loaded, idle workers (their run():
  // pool, LISTEN, first fetch are inside the clock) until the jobs table is
  // empty (graphile-worker deletes a job when it succeeds); polled every 20 ms
  // over one connection. A job that failed stays in the table with last_error.
  const poll = { name: 'poll', text: 'SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs) AS left, ' +
    'EXISTS (SELECT 1 FROM graphile_worker._private_jobs WHERE last_error IS NOT NULL) AS failed' };
  const running = children.map((c) => waitFor(c, 'running'));
  const t0 = wallMs();
  for (const c of children) c.send({ type: 'start' });
  let polls = 0;
  for (;;) {
    const r = (await db.query(poll)).rows[0];
    polls++;
    if (r.failed) throw new Error('a job failed (last_error set in graphile_worker._private_jobs)');
    if (!r.left) break;
    await sleep(20);
  }
  const t1 = wallMs();
  await Promise.all(running);

  const stats = await Promise.all(children.map((c) => { const p = waitFor(c, 'stats'); c.send({ type: 'exit' }); return p; }));
  await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.on('exit', r)))));
  await db.end();

  const drainMs = t1 - t0;
  const done = stats.reduce((s, x) => s + x.completed, 0);
  const failed = stats.reduce((s, x) => s + x.failed, 0);
  if (done !== args.jobs || failed !== 0) throw new Error(`workers report ${done} done, ${failed} failed of ${args.jobs}`);
  const firstJob = Math.min(...stats.map((s) => s.firstJobWall));
  const lastJob = Math.max(...stats.map((s) => s.lastJobWall));
  const out = {
    peer: 'graphile-worker',
    graphile_worker_version: pkgVersion('graphile-worker'),
    pg_driver_version: pkgVersion('pg'),
    postgresql_version: pgVersion,
    jobs: args.jobs,
    workers: args.workers,
    drain_s: r3(drainMs / 1000),
    drain_jobs_per_s: Math.round(args.jobs / (drainMs / 1000)),
    notes:
      `enqueue: one addJobs() of ${args.jobs} specs took ${r3(enqueueMs)} ms (not timed in drain); ` +
      `drain clock: "start" sent to ${args.workers} loaded worker processes -> jobs table empty (${polls} polls, 20 ms apart); ` +
      `first job done at +${r3(firstJob - t0)} ms, last at +${r3(lastJob - t0)} ms; per-worker ${stats.map((s) => s.completed).join('/')}; ` +
      `run({concurrency: 1, noHandleSignals: true}) otherwise defaults (pollInterval 2000, no localQueue, no completeJobBatchDelay, maxPoolSize 10, prepared statements); ` +
      `server ${durability}; node ${process.version}`,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

const args = parseArgs(process.argv.slice(2));
(args.worker ? workerMain(args) : parentMain(args)).catch((e) => {
  console.error(e);
  process.exit(1);
});

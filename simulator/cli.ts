import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { request } from 'undici';
import { ADMIN_TOKEN_VARIABLE } from '../src/admin/client.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../src/logging.js';
import { isLoopback } from '../src/server/admin-guard.js';
import { DEFAULT_SITE_LIMITS } from '../src/server/site-limits.js';
import { DEFAULT_DM_PATH } from '../src/protocol/wire.js';
import { InputFileError, loadSiteFile, loadValidatedFile } from '../src/input-file.js';
import { startSiteServer } from '../src/server/site-server.js';
import { SiteError } from '../src/server/site-error.js';
import { makeDirectory } from './device-state-store.js';
import { fleetMixSchema } from './fleet-mix.js';
import type { FleetJob } from './fleet-job.js';
import { startDashboard, type Dashboard } from './dashboard/server.js';
import { renderHtmlReport } from './html-report.js';
import { progressBar } from './progress.js';
import { historyFromFile, historyFromSite } from './device-history.js';
import { renderHistory, renderReport, type FleetReport } from './report.js';
import { fleetSizeProblem } from './machine-limits.js';
import { loadScenario } from './scenario.js';
import { coordinateRun } from './coordinator.js';
import { CoordinationError } from './coordination.js';
import {
  checkShardSet,
  mergeShardReports,
  parseShard,
  readShardReport,
  renderShards,
  runFleetOrShard,
  SHARD_LOST_EXIT_CODE,
  type ShardOptions,
} from './shard.js';
import { collectThreshold, judgeThresholds, renderThresholds, THRESHOLD_FAILED_EXIT_CODE, type Threshold } from './thresholds.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'config');

/** Parses an option's number, or names the option and what it must be. */
function checkedNumber(name: string, what: string, valid: (number: number) => boolean) {
  return (value: string): number => {
    const number = Number(value);
    if (value.trim() === '' || !valid(number)) throw new InvalidArgumentError(`${name} must be ${what}, got "${value}"`);
    return number;
  };
}
const positiveInteger = (name: string) => checkedNumber(name, 'a positive whole number', (n) => Number.isInteger(n) && n > 0);
const positiveNumber = (name: string) => checkedNumber(name, 'a positive number', (n) => Number.isFinite(n) && n > 0);
const nonNegativeNumber = (name: string) => checkedNumber(name, 'zero or a positive number', (n) => Number.isFinite(n) && n >= 0);

/** A flag whose value the machine refused, and why: one line for the user, exit 1 as for any bad flag. */
class FlagError extends Error {}

/** Checks before a run that `--out` can be written: a run of an hour must not end in a report it cannot keep. */
async function checkOut(out: string | undefined): Promise<void> {
  if (out === undefined) return;
  try {
    makeDirectory(out);
    await access(out, constants.W_OK);
  } catch (error) {
    throw new FlagError(`--out ${out}: cannot be written (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** Prints the report, and writes it to `out` (JSON and a self-contained HTML page) when asked. */
async function publish(report: FleetReport, out: string | undefined): Promise<void> {
  console.log(renderReport(report));
  if (!out) return;
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(out, 'report.html'), renderHtmlReport(report));
  console.log(`\nreport written to ${path.join(out, 'report.json')} and ${path.join(out, 'report.html')}`);
}

const thresholdOption = new Option('--threshold <expr>', "exit 3 unless the report's figures meet this, e.g. 'p99(Poll)<200ms' (repeatable)").argParser(
  collectThreshold,
);

/** Options that make run or fleet one shard of a fleet split across processes or machines (see README: Past one machine). */
const shardOptions = {
  shard: new Option('--shard <i/n>', 'run only the devices whose index mod n is i (names, seeds and profiles as in the whole fleet)').argParser(parseShard),
  shards: new Option('--shards <n>', 'as --shard, the index from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job)')
    .argParser(positiveInteger('--shards'))
    .env('MLC_SIM_SHARDS'),
  coordinator: new Option('--coordinator <redis-url>', 'with a shard: meet the others in this Redis (common start, heartbeats; see coordinate)').env(
    'MLC_SIM_REDIS',
  ),
};
const runIdOption = new Option('--run-id <id>', 'names the run in Redis: one per run').env('MLC_SIM_RUN_ID').default('mlc-sim');

/** Prints the report's verdict: shards lost, thresholds failed, each with its exit code (a lost shard's first). */
function judge(report: FleetReport, thresholds: readonly Threshold[] | undefined): void {
  if (report.shards) console.log(`\n${renderShards(report.shards)}`);
  const results = judgeThresholds(thresholds ?? [], report);
  if (results.length > 0) console.log(`\n${renderThresholds(results)}`);
  if (report.shards && report.shards.lost.length > 0) process.exitCode = SHARD_LOST_EXIT_CODE;
  else if (results.some((r) => !r.passed)) process.exitCode = THRESHOLD_FAILED_EXIT_CODE;
}

function parseOffset(name: string, value: string): number {
  const match = /^(\d{1,3}):([0-5]\d)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`${name} must be hours:minutes, e.g. 06:00, got "${value}"`);
  return (Number(match[1]) * 60 + Number(match[2])) * 60_000;
}

const workersOption = new Option('--workers <n>', 'split the fleet across this many worker threads, to use more cores (see README: Benchmarks)')
  .argParser(positiveInteger('--workers'))
  .default(1);

const wireLogOptions = [
  new Option('--wire-log <file>', 'write every device-management exchange (headers, bodies, status, ms) to this file as JSON lines'),
  new Option('--wire-log-devices <n>', 'with --wire-log: only the first n devices').argParser(positiveInteger('--wire-log-devices')),
] as const;

/** The wire log a command asked for; one file, so one worker. */
function wireLogOf(options: { wireLog?: string; wireLogDevices?: number; workers: number }) {
  if (options.wireLog === undefined) {
    if (options.wireLogDevices !== undefined) throw new InvalidArgumentError('--wire-log-devices needs --wire-log <file>');
    return {};
  }
  if (options.workers > 1) throw new InvalidArgumentError('--wire-log writes one file: run it with --workers 1');
  return { wireLog: { file: options.wireLog, ...(options.wireLogDevices !== undefined && { devices: options.wireLogDevices }) } };
}

/** A server URL: an origin (the documented path is used) or a full URL to a management point. */
function serverUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`--server must be an http:// or https:// URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`--server must be an http:// or https:// URL, got "${value}"`);
  return url.href;
}

const adminTokenOption = new Option('--admin-token <token>', `bearer token of the admin API (default: $${ADMIN_TOKEN_VARIABLE})`);

const dashboardOption = () =>
  new Option('--dashboard [port]', 'watch the run live in a browser: a page on 127.0.0.1 at this port (none: a free one), its URL printed').argParser(
    checkedNumber('--dashboard', 'a port number from 0 to 65535', (n) => Number.isInteger(n) && n >= 0 && n <= 65535),
  );

/** The live dashboard a command asked for (its URL printed), or null. It watches a fleet in this thread. */
async function dashboardOf(options: { dashboard?: true | number; workers: number }): Promise<Dashboard | null> {
  if (options.dashboard === undefined) return null;
  if (options.workers > 1) throw new FlagError('--dashboard watches the fleet of one thread: run it with --workers 1');
  const port = options.dashboard === true ? 0 : options.dashboard;
  const dashboard = await startDashboard(port).catch((error: unknown) => {
    throw (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? new FlagError(`--dashboard ${port}: the port is in use`) : error;
  });
  console.log(`live dashboard: ${dashboard.url}`);
  return dashboard;
}

const logLevelOption = (fallback: LogLevel) => new Option('--log-level <level>', 'log verbosity (JSON lines on stderr)').choices(LOG_LEVELS).default(fallback);

/**
 * Runs a fleet job (or this process's shard of it) with the progress bar and live dashboard the command asked for,
 * then prints and writes its report and judges its thresholds: the end of `run` and `fleet` alike.
 */
async function runToReport(
  job: FleetJob,
  options: ShardOptions & { workers: number; progress: boolean; out?: string; dashboard?: true | number },
  expectedMs: number,
): Promise<void> {
  const dashboard = await dashboardOf(options);
  const bar = options.progress ? progressBar(expectedMs) : null;
  let report;
  try {
    report = await runFleetOrShard(
      job,
      { workers: options.workers, ...(bar && { onProgress: bar.update }), ...(dashboard && { watcher: dashboard.watcher }) },
      options,
    );
  } finally {
    bar?.stop();
    await dashboard?.close();
  }
  await publish(report, options.out);
  judge(report, options.threshold);
}

/** The options `run` and `fleet` share: where devices remember, how the run is split, what it writes and shows. */
function withFleetRunOptions(command: Command): Command {
  return command
    .option('--state-dir <dir>', 'devices keep their undelivered status here, across restarts of the simulator')
    .addOption(workersOption)
    .addOption(wireLogOptions[0])
    .addOption(wireLogOptions[1])
    .option('--out <dir>', 'also write report.json and report.html to this directory')
    .addOption(shardOptions.shard)
    .addOption(shardOptions.shards)
    .addOption(shardOptions.coordinator)
    .addOption(runIdOption)
    .addOption(thresholdOption)
    .addOption(dashboardOption())
    .option('--no-progress', 'no progress bar (there is none when stderr is not a terminal)')
    .addOption(logLevelOption('warn'));
}

const program = new Command('mlc-sim')
  .description(
    'Simulated Windows Mobile / Windows CE handhelds (the ConfigMgr Mobile Device Legacy Client) against a stub\n' +
      'Configuration Manager site: management point, distribution point and status intake on loopback HTTP.',
  )
  .showHelpAfterError();

withFleetRunOptions(
  program
    .command('run')
    .description('Replay a scenario in simulated time against an embedded stub site, and print the report.')
    .argument('[scenario]', 'scenario file, YAML or JSON (see config/scenarios/)', path.join(CONFIG, 'scenarios', 'first-round.yaml'))
    .option('--devices <n>', "number of handhelds (overrides the scenario's)", positiveInteger('--devices'))
    .option('--seed <n>', "seed (overrides the scenario's): the same seed gives the same devices, events and report", positiveInteger('--seed'))
    .option('--duration <hh:mm>', "simulated run length (overrides the scenario's)", (v) => parseOffset('--duration', v))
    .option(
      '--limit-hours <h>',
      'for a scenario without a duration: report after this much simulated time even if devices are busy',
      positiveNumber('--limit-hours'),
      24,
    )
    .option(
      '--speed <x>',
      'run at this many times real time, to watch or to pace a load (default: as fast as the site answers, repeatable)',
      positiveNumber('--speed'),
    )
    .option('--over-http', 'devices reach the embedded site over loopback HTTP instead of in the same thread: the same report, at about twice the CPU'),
)
  .addHelpText(
    'after',
    '\nExamples:\n' +
      '  mlc-sim run                                             # the first distribution round of config/site.yaml\n' +
      '  mlc-sim run config/scenarios/mandatory-app-rollout.yaml --devices 2000 --seed 7 --out out/\n',
  )
  .action(
    async (
      file: string,
      options: {
        devices?: number;
        seed?: number;
        duration?: number;
        limitHours: number;
        speed?: number;
        overHttp?: true;
        stateDir?: string;
        workers: number;
        wireLog?: string;
        wireLogDevices?: number;
        out?: string;
        dashboard?: true | number;
        progress: boolean;
        logLevel: LogLevel;
      } & ShardOptions,
    ) => {
      const wireLog = wireLogOf(options);
      await checkOut(options.out);
      const scenario = await loadScenario(file);
      if (options.devices !== undefined) scenario.devices = options.devices;
      checkFleetSize(scenario.devices, options.workers);
      if (options.seed !== undefined) scenario.seed = options.seed;
      if (options.duration !== undefined) scenario.durationMs = options.duration;
      const limitMs = options.limitHours * 3_600_000;
      const replay = {
        limitMs,
        ...(options.speed !== undefined && { speed: options.speed }),
        ...(options.overHttp && { overHttp: true }),
        ...(options.stateDir !== undefined && { stateDir: options.stateDir }),
        ...wireLog,
      };
      await runToReport({ kind: 'replay', scenario, options: replay, logLevel: options.logLevel }, options, scenario.durationMs ?? limitMs);
    },
  );

withFleetRunOptions(
  program
    .command('fleet')
    .description('Run a fleet in real time against any server that speaks the device protocol: a load test.')
    .requiredOption('--server <url>', `the management point: a full URL, or an origin such as http://127.0.0.1:8080 for <origin>${DEFAULT_DM_PATH}`, serverUrl)
    .option('--fleet <file>', 'fleet mix the handhelds are drawn from', path.join(CONFIG, 'fleet.yaml'))
    .option('--devices <n>', 'number of handhelds', positiveInteger('--devices'), 100)
    .option('--seed <n>', 'seed for the fleet mix and program outcomes', positiveInteger('--seed'), 1)
    .option('--stagger-minutes <m>', 'spread the first polls over this many minutes (0: every device at once)', nonNegativeNumber('--stagger-minutes'), 1)
    .option('--duration-minutes <m>', 'how long to run (after the warm-up)', positiveNumber('--duration-minutes'), 5)
    .option(
      '--warm-up-seconds <s>',
      'run this long first, leaving its requests out of the latency table (first registrations, warming up)',
      nonNegativeNumber('--warm-up-seconds'),
      0,
    )
    .option('--back-to-back', "poll again as soon as a cycle ends, ignoring the site's interval, and run programs in no time: the most load the fleet can make")
    .option('--keep-trying', 'start even if the server cannot be reached yet (devices retry as they would)')
    .addOption(adminTokenOption),
)
  .addHelpText(
    'after',
    '\nExample (two terminals):\n  mlc-sim serve --port 8080\n  mlc-sim fleet --server http://127.0.0.1:8080 --devices 1000 --duration-minutes 10\n',
  )
  .action(
    async (options: {
      server: string;
      fleet: string;
      devices: number;
      seed: number;
      staggerMinutes: number;
      durationMinutes: number;
      warmUpSeconds: number;
      backToBack?: boolean;
      keepTrying?: boolean;
      adminToken?: string;
      stateDir?: string;
      workers: number;
      wireLog?: string;
      wireLogDevices?: number;
      out?: string;
      dashboard?: true | number;
      progress: boolean;
      logLevel: LogLevel;
      // A shard of the fleet (see shard.ts).
      shard?: ShardOptions['shard'];
      shards?: number;
      coordinator?: string;
      runId: string;
      threshold?: Threshold[];
    }) => {
      const wireLog = wireLogOf(options);
      checkFleetSize(options.devices, options.workers);
      useAdminToken(options.adminToken);
      await checkOut(options.out);
      if (options.keepTrying !== true) await checkReachable(options.server);
      const mix = await loadValidatedFile(options.fleet, fleetMixSchema);
      const durationMs = options.durationMinutes * 60_000;
      const warmUpMs = options.warmUpSeconds * 1000;
      const live = {
        serverUrl: options.server,
        mix,
        devices: options.devices,
        seed: options.seed,
        staggerMs: options.staggerMinutes * 60_000,
        durationMs,
        warmUpMs,
        ...(options.backToBack && { backToBack: true }),
        ...(options.stateDir !== undefined && { stateDir: options.stateDir }),
        ...wireLog,
      };
      await runToReport({ kind: 'live', options: live, logLevel: options.logLevel }, options, warmUpMs + durationMs);
    },
  );

program
  .command('serve')
  .description('Run the stub site server alone, in real time, until interrupted.')
  .option('--site <file>', 'site definition', path.join(CONFIG, 'site.yaml'))
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option(
    '--port <port>',
    'port to listen on (0 picks a free one)',
    checkedNumber('--port', 'a port number from 0 to 65535', (n) => Number.isInteger(n) && n >= 0 && n <= 65535),
    8080,
  )
  .option('--db <file>', 'SQLite database for status messages: kept across restarts (":memory:" keeps nothing)', 'mlc-sim-status.db')
  .addOption(adminTokenOption)
  .option('--max-devices <n>', 'devices the site knows in all; a poll from one more gets 403', positiveInteger('--max-devices'), DEFAULT_SITE_LIMITS.maxDevices)
  .option(
    '--max-devices-per-source <n>',
    'devices first known from one source address; one more gets 403',
    positiveInteger('--max-devices-per-source'),
    DEFAULT_SITE_LIMITS.maxDevicesPerSource,
  )
  .option(
    '--max-connections <n>',
    'connections open at once; one more is answered 429',
    positiveInteger('--max-connections'),
    DEFAULT_SITE_LIMITS.maxConnections,
  )
  .option(
    '--request-timeout-seconds <s>',
    'a request not fully received by then is answered 408',
    positiveNumber('--request-timeout-seconds'),
    DEFAULT_SITE_LIMITS.requestTimeoutMs / 1000,
  )
  .addOption(dashboardOption())
  .addOption(logLevelOption('info'))
  .action(async (options: ServeOptions) => {
    const { site, contentRoot } = await loadSiteFile(options.site);
    const admin = adminTokenFor(options);
    // The dashboard reads this site's admin API with its token.
    useAdminToken(admin.token);
    const dashboard = await dashboardOf({ ...options, workers: 1 });
    const server = await startSiteServer({
      ...(dashboard && { onExchange: dashboard.watcher.exchange }),
      site,
      contentRoot,
      host: options.host,
      port: options.port,
      statusDatabase: options.db,
      logger: createLogger(options.logLevel),
      limits: {
        maxDevices: options.maxDevices,
        maxDevicesPerSource: options.maxDevicesPerSource,
        maxConnections: options.maxConnections,
        requestTimeoutMs: options.requestTimeoutSeconds * 1000,
      },
      ...(admin.token !== undefined && { adminToken: admin.token }),
    }).catch(async (error: unknown) => {
      await dashboard?.close();
      throw error instanceof SiteError ? new InputFileError(options.site, error.field, error.reason) : listenError(error, options);
    });
    warnOffLoopback(options.host, admin);
    console.log(`stub site listening on ${server.url}: device management point ${server.url}${DEFAULT_DM_PATH}, admin API ${server.url}/admin`);
    console.log(`status messages kept in ${options.db} (${server.status.messageCount} already there)`);
    dashboard?.watcher.watch({ fleet: null, clock: { now: Date.now }, start: Date.now(), siteUrl: server.url, windows: [] });
    const stop = () => void Promise.all([server.close(), dashboard?.close()]).then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('merge')
  .description("Join the reports of a run's shards (run or fleet --shard I/N --out DIR) into the report of the whole fleet.")
  .argument('<reports...>', "the shards' report.json files")
  .option('--out <dir>', 'also write the merged report.json and report.html to this directory')
  .addOption(thresholdOption)
  .addOption(logLevelOption('warn'))
  .action(async (files: string[], options: { out?: string; threshold?: Threshold[]; logLevel: LogLevel }) => {
    await checkOut(options.out);
    const parts = await Promise.all(files.map(async (file) => ({ file, report: await readShardReport(file) })));
    const { of, lost } = checkShardSet(parts);
    const report = await mergeShardReports(
      parts.map((p) => p.report),
      of,
      lost,
      createLogger(options.logLevel),
    );
    await publish(report, options.out);
    judge(report, options.threshold);
  });

program
  .command('coordinate')
  .description("Start a run's shards together through Redis, watch them live, name any that stops, and merge their reports.")
  .addOption(new Option('--redis <url>', 'the Redis the shards were given as --coordinator').env('MLC_SIM_REDIS').makeOptionMandatory())
  .addOption(new Option('--shards <n>', 'how many shards the run has').argParser(positiveInteger('--shards')).env('MLC_SIM_SHARDS').makeOptionMandatory())
  .addOption(runIdOption)
  .option('--stale-seconds <s>', 'a shard silent this long is lost', positiveNumber('--stale-seconds'), 10)
  .option('--register-timeout-seconds <s>', 'give up when shards have not all registered by then', positiveNumber('--register-timeout-seconds'), 600)
  .option('--out <dir>', 'also write the merged report.json and report.html to this directory')
  .addOption(thresholdOption)
  .addOption(logLevelOption('warn'))
  .action(
    async (options: {
      redis: string;
      shards: number;
      runId: string;
      staleSeconds: number;
      registerTimeoutSeconds: number;
      out?: string;
      threshold?: Threshold[];
      logLevel: LogLevel;
    }) => {
      await checkOut(options.out);
      const report = await coordinateRun(
        { url: options.redis, runId: options.runId },
        {
          of: options.shards,
          staleMs: options.staleSeconds * 1000,
          registerTimeoutMs: options.registerTimeoutSeconds * 1000,
          logger: createLogger(options.logLevel),
          print: (line) => {
            console.error(line);
          },
        },
      );
      await publish(report, options.out);
      judge(report, options.threshold);
    },
  );

program
  .command('report')
  .description("Print one device's status history: from a run's report.json, or from a running site's admin API.")
  .argument('<device>', 'the device name, e.g. MLC-00007')
  .option('--from <file>', 'a report.json written by run or fleet --out', path.join('out', 'report.json'))
  .option('--server <url>', 'ask a running site (mlc-sim serve) instead', serverUrl)
  .addOption(adminTokenOption)
  .action(async (device: string, options: { from: string; server?: string; adminToken?: string }) => {
    useAdminToken(options.adminToken);
    console.log(
      renderHistory(device, options.server === undefined ? await historyFromFile(options.from, device) : await historyFromSite(options.server, device)),
    );
  });

interface ServeOptions {
  site: string;
  host: string;
  port: number;
  db: string;
  dashboard?: true | number;
  adminToken?: string;
  maxDevices: number;
  maxDevicesPerSource: number;
  maxConnections: number;
  requestTimeoutSeconds: number;
  logLevel: LogLevel;
}

/**
 * The admin API's token for `serve`: the flag's or $MLC_SIM_ADMIN_TOKEN. Off loopback one is required, so one is
 * made when none is given (and printed once the site listens). On loopback, none unless asked for; the Host check
 * applies either way.
 */
function adminTokenFor(options: ServeOptions): { token?: string; made: boolean } {
  const given = options.adminToken ?? process.env[ADMIN_TOKEN_VARIABLE];
  if (given !== undefined && given !== '') return { token: given, made: false };
  return isLoopback(options.host) ? { made: false } : { token: randomBytes(18).toString('base64url'), made: true };
}

/** What `serve` says when it listens off loopback. */
function warnOffLoopback(host: string, admin: { token?: string; made: boolean }): void {
  if (isLoopback(host)) return;
  console.warn(
    `warning: --host ${host} is not loopback: devices and the admin API are reachable from the network. ` +
      'The admin API (which can replace package content and inject faults) requires its bearer token.',
  );
  if (admin.made) console.warn(`admin API token (pass it with --admin-token or ${ADMIN_TOKEN_VARIABLE}): ${admin.token ?? ''}`);
}

/** A fleet or report passes the admin token on: through the environment, which worker threads share. */
function useAdminToken(token: string | undefined): void {
  if (token !== undefined) process.env[ADMIN_TOKEN_VARIABLE] = token;
}

function checkFleetSize(devices: number, workers: number): void {
  const problem = fleetSizeProblem(devices, workers);
  if (problem !== null) throw new FlagError(problem);
}

/** A server that does not answer at all is a mistake to say at once, not an hour of failed polls. */
async function checkReachable(server: string): Promise<void> {
  try {
    // undici's request, not fetch: fetch refuses the ports browsers block (9, 25, ...), which a server may use.
    const { body } = await request(server, { method: 'HEAD', headersTimeout: 10_000 });
    await body.dump();
  } catch (error) {
    const cause = (error as { code?: string }).code ?? (error as Error).name;
    throw new FlagError(`--server ${server}: cannot be reached (${cause}); start it, or pass --keep-trying to start anyway`);
  }
}

/** Why `serve` could not listen, naming the flag at fault, for the errors a person can cause. */
function listenError(error: unknown, options: { host: string; port: number; db: string }): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new FlagError(`--port ${options.port}: the address is in use (another serve, or another program)`);
  if (code === 'EACCES') return new FlagError(`--port ${options.port}: not allowed to listen there (ports below 1024 need privileges)`);
  if (code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL' || code === 'EAI_AGAIN') return new FlagError(`--host ${options.host}: not an address of this machine`);
  if ((error as Error).name === 'SqliteError')
    return new FlagError(`--db ${options.db}: not a status database this site can open (${(error as Error).message})`);
  return error;
}

try {
  await program.version(PACKAGE_VERSION).parseAsync();
} catch (error) {
  if (error instanceof FlagError || error instanceof InvalidArgumentError || error instanceof CoordinationError) {
    console.error(`error: ${error.message}`);
    process.exitCode = 1;
  } else {
    if (error instanceof InputFileError) {
      console.error(`error: ${error.message}`);
    } else if (error instanceof SiteError) {
      console.error(`error: site definition: ${error.message}`);
    } else {
      console.error(error);
    }
    process.exitCode = 2;
  }
}

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, checkJava, resolveClasspath } from '../../src/devcluster/maven';
import { runSync, spawnManaged, stopProcessGroup, tailFile, type ManagedProcess } from '../../src/devcluster/process';
import { REPO_ROOT } from './layout';

/**
 * The `kstreams` bench's Kafka Streams app (bench/kstreams/WalBenchStreams.java): kafka-streams and
 * its dependencies from Maven Central (bench/kstreams/pom.xml, the classpath cached beside the
 * broker's), compiled with javac into a scratch dir, run as a JVM in its own process group with the
 * devcluster's watchdog like MirrorMaker 2 (bench/lib/mm2.ts). Bench-only.
 */
export const KAFKA_STREAMS_VERSION = '4.1.1';
const SOURCE_DIR = path.join(REPO_ROOT, 'bench', 'kstreams');
const MAIN_CLASS = 'WalBenchStreams';
export const KSTREAMS_HEAP = '-Xmx1g';

export interface StreamsSettings {
  readonly threads: number;
  readonly commitIntervalMs: number;
  readonly cacheMaxBytes: number;
}

export interface CompiledApp {
  /** The compiled classes first, then kafka-streams and its dependencies. */
  readonly classpath: string;
  /** Removes the scratch dir of the classes. */
  remove(): void;
}

/** Resolves the jars (once; cached) and compiles the app into a fresh scratch dir. */
export async function compileStreamsApp(log: (line: string) => void): Promise<CompiledApp> {
  checkJava();
  const jars = await resolveClasspath(
    path.join(SOURCE_DIR, 'pom.xml'),
    [`-Dkafka.version=${KAFKA_STREAMS_VERSION}`],
    path.join(cacheDir(), `kafka-streams-${KAFKA_STREAMS_VERSION}.classpath`),
    `Kafka Streams ${KAFKA_STREAMS_VERSION}`,
    log,
  );
  const classes = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-kstreams-classes-'));
  const javac = runSync('javac', ['--release', '17', '-d', classes, '-cp', jars, path.join(SOURCE_DIR, `${MAIN_CLASS}.java`)]);
  if (javac.code !== 0) {
    fs.rmSync(classes, { recursive: true, force: true });
    throw new Error(`javac could not compile bench/kstreams/${MAIN_CLASS}.java (a JDK ≥ 17 is needed, not just a JRE): ${javac.output.slice(-2000)}`);
  }
  return { classpath: [classes, jars].join(path.delimiter), remove: () => fs.rmSync(classes, { recursive: true, force: true }) };
}

export interface StreamsAppOptions extends StreamsSettings {
  readonly mode: 'passthrough' | 'delay';
  readonly brokers: readonly string[];
  readonly input: string;
  readonly output: string;
  /** Also the prefix of its changelog topic and its consumer group. */
  readonly applicationId: string;
}

export interface RunningStreamsApp {
  readonly process: ManagedProcess;
  /** Its log and state dir, removed by stopStreamsApp. */
  readonly dir: string;
  /** The JVM's CPU (user + system) when it first reached RUNNING, from its log; undefined before that. */
  cpuAtRunningSeconds(): number | undefined;
  /** The JVM's CPU (user + system) so far, from /proc/<pid>/stat. */
  cpuSeconds(): number;
  log(): string;
}

/** Starts the app (its log and state in a scratch dir); stop it with stopStreamsApp. */
export function startStreamsApp(app: CompiledApp, options: StreamsAppOptions): RunningStreamsApp {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-kstreams-'));
  const logFile = path.join(dir, 'app.log');
  const args = [
    options.mode,
    options.brokers.join(','),
    options.input,
    options.output,
    options.applicationId,
    path.join(dir, 'state'),
    String(options.threads),
    String(options.commitIntervalMs),
    String(options.cacheMaxBytes),
  ];
  const jvm = spawnManaged({ command: 'java', args: [KSTREAMS_HEAP, '-Dorg.apache.logging.log4j.level=WARN', '-cp', app.classpath, MAIN_CLASS, ...args], cwd: dir, logFile, detach: false });
  return {
    process: jvm,
    dir,
    cpuAtRunningSeconds: () => {
      const match = /WalBenchStreams RUNNING cpuNanos=(\d+)/.exec(tailFile(logFile, 10_000));
      return match ? Number(match[1]) / 1e9 : undefined;
    },
    cpuSeconds: () => processCpuSeconds(jvm.pid),
    log: () => tailFile(logFile, 40),
  };
}

export async function stopStreamsApp(running: RunningStreamsApp): Promise<void> {
  await stopProcessGroup(running.process.pid, 40_000);
  fs.rmSync(running.dir, { recursive: true, force: true });
}

let clockTicks: number | undefined;

/** utime + stime of a process (fields 14 and 15 of /proc/<pid>/stat, after the command in parentheses). */
export function processCpuSeconds(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime 15.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

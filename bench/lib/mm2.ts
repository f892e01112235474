import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cacheDir } from '../../src/devcluster/maven';
import { spawnManaged, stopProcessGroup, tailFile, type ManagedProcess } from '../../src/devcluster/process';

/**
 * Apache Kafka's MirrorMaker 2 as the mirror bench's baseline: `connect-mirror` and its runtime
 * from Maven Central (resolved by Maven from a throw-away pom, the classpath cached beside the
 * broker's), run in dedicated mode (`org.apache.kafka.connect.mirror.MirrorMaker`) like an operator
 * would. Bench-only: nothing of the product depends on it.
 */
export async function mm2Classpath(kafkaVersion: string, log: (line: string) => void): Promise<string> {
  const file = path.join(cacheDir(), `mm2-${kafkaVersion}-log4j.classpath`);
  if (fs.existsSync(file)) {
    const classpath = fs.readFileSync(file, 'utf8').trim();
    if (classpath && classpath.split(path.delimiter).every((jar) => fs.existsSync(jar))) return classpath;
  }
  fs.mkdirSync(cacheDir(), { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-mm2-pom-'));
  const pom = path.join(dir, 'pom.xml');
  fs.writeFileSync(
    pom,
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>dev.wal</groupId><artifactId>wal-bench-mm2</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-mirror</artifactId><version>${kafkaVersion}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>`,
  );
  log(`  resolving MirrorMaker 2 (connect-mirror ${kafkaVersion}) with Maven`);
  const result = spawnSync('mvn', ['-B', '-q', '-f', pom, 'dependency:build-classpath', `-Dmdep.outputFile=${file}`], { encoding: 'utf8', timeout: 600_000 });
  fs.rmSync(dir, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`Maven could not resolve connect-mirror ${kafkaVersion}: ${(result.stdout + result.stderr).split('\n').slice(-15).join('\n')}`);
  return fs.readFileSync(file, 'utf8').trim();
}

export interface Mm2Options {
  readonly classpath: string;
  readonly brokersA: readonly string[];
  readonly brokersB: readonly string[];
  readonly topic: string;
  readonly tasks: number;
  /** Target topics are `A<separator><topic>`; another separator than wal's `.` keeps the two copies apart (not `_`: Kafka takes `.` and `_` for the same character in topic names). */
  readonly separator: string;
  /** Suffix of MM2's config/offset/status topics, so that a run never reads connector state a previous (killed) run left. */
  readonly run: string;
}

export interface RunningMm2 {
  readonly process: ManagedProcess;
  readonly dir: string;
  /** The end of its log, for failure messages. */
  log(): string;
}

/**
 * Starts MM2 (dedicated mode, A → B only, `tasks.max` tasks, no heartbeats) in its own process group,
 * with the devcluster's watchdog so that a bench killed by its timeout leaves no JVM; stop it with stopMm2.
 */
export function startMm2(options: Mm2Options): RunningMm2 {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-mm2-'));
  const properties = [
    'clusters = A, B',
    `A.bootstrap.servers = ${options.brokersA.join(',')}`,
    `B.bootstrap.servers = ${options.brokersB.join(',')}`,
    'A->B.enabled = true',
    `A->B.topics = ${options.topic.replace(/\./g, '\\\\.')}`,
    'B->A.enabled = false',
    `tasks.max = ${options.tasks}`,
    `replication.policy.separator = ${options.separator}`,
    'replication.factor = 1',
    'checkpoints.topic.replication.factor = 1',
    'heartbeats.topic.replication.factor = 1',
    'offset-syncs.topic.replication.factor = 1',
    'offset.storage.replication.factor = 1',
    'status.storage.replication.factor = 1',
    'config.storage.replication.factor = 1',
    'emit.heartbeats.enabled = false',
    'emit.checkpoints.enabled = false',
    'sync.topic.acls.enabled = false',
    'sync.topic.configs.enabled = false',
    'refresh.topics.interval.seconds = 2',
    `B.config.storage.topic = mm2-configs.${options.run}.internal`,
    `B.offset.storage.topic = mm2-offsets.${options.run}.internal`,
    `B.status.storage.topic = mm2-status.${options.run}.internal`,
    '',
  ].join('\n');
  const file = path.join(dir, 'mm2.properties');
  fs.writeFileSync(file, properties);
  const logFile = path.join(dir, 'mm2.log');
  const jvm = spawnManaged({ command: 'java', args: ['-Xmx1g', '-Dorg.apache.logging.log4j.level=INFO', '-cp', options.classpath, 'org.apache.kafka.connect.mirror.MirrorMaker', file], cwd: dir, logFile, detach: false });
  return { process: jvm, dir, log: () => tailFile(logFile, 40) };
}

export async function stopMm2(running: RunningMm2): Promise<void> {
  await stopProcessGroup(running.process.pid, 15_000);
  fs.rmSync(running.dir, { recursive: true, force: true });
}

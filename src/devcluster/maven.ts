import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactFetchError, MissingToolError } from './errors';
import { runSync } from './process';

/** docker/maven/pom.xml: two levels up from both src/devcluster and dist/devcluster. */
export const POM_PATH = path.resolve(__dirname, '..', '..', 'docker', 'maven', 'pom.xml');

/** Where resolved classpaths and the unpacked registry are kept between runs (beside ~/.m2). */
export function cacheDir(): string {
  return process.env.WAL_CACHE_DIR ?? path.join(os.homedir(), '.m2', 'wal');
}

export function checkJava(): string {
  const probe = runSync('java', ['-version']);
  if (probe.code !== 0) {
    throw new MissingToolError(
      'Java not found: the local cluster runs Kafka and the schema registry from Maven Central jars and needs a JDK ≥ 17 on PATH ' +
        '(or set KAFKA_BROKERS and SCHEMA_REGISTRY_URL to use an existing cluster, or run a Docker engine).',
    );
  }
  const match = /version "(\d+)/.exec(probe.output);
  const major = match ? Number(match[1]) : 0;
  if (major < 17) {
    throw new MissingToolError(`Java ${major} found, but Kafka 4 needs Java ≥ 17: ${probe.output.split('\n')[0]}`);
  }
  return probe.output.split('\n')[0] ?? '';
}

function checkMaven(): void {
  if (runSync('mvn', ['-v']).code !== 0) {
    throw new MissingToolError(
      'Maven (mvn) not found: it fetches the Kafka and registry jars from Maven Central into ~/.m2. Install it (apt-get install maven) ' +
        'or set KAFKA_BROKERS and SCHEMA_REGISTRY_URL to use an existing cluster.',
    );
  }
}

/** Runs Maven on the devcluster pom, reporting progress every 10 s since a cold download takes a while. */
async function runMaven(args: string[], what: string, onProgress: (m: string) => void, pom = POM_PATH): Promise<void> {
  checkMaven();
  const started = Date.now();
  const output: string[] = [];
  const child = spawn('mvn', ['-B', '-q', '-f', pom, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const ticker = setInterval(() => onProgress(`still fetching ${what} (${Math.round((Date.now() - started) / 1000)} s)`), 10000);
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', resolve);
    child.once('error', () => resolve(null));
  });
  clearInterval(ticker);
  if (code !== 0) {
    const tail = output.join('').split('\n').slice(-25).join('\n');
    throw new ArtifactFetchError(`Maven could not fetch ${what} from Maven Central (exit ${code}):\n${tail}`, true);
  }
}

/**
 * The Java classpath of an Apache Kafka broker of this version, resolved by Maven once and cached;
 * a cached list is trusted only while every jar in it is still in ~/.m2.
 */
export async function kafkaClasspath(version: string, onProgress: (m: string) => void): Promise<string> {
  return resolveClasspath(POM_PATH, [`-Dkafka.version=${version}`], path.join(cacheDir(), `kafka-${version}.classpath`), `Apache Kafka ${version}`, onProgress);
}

/** The classpath `pom` resolves to (with `properties`), cached in `file` while every jar of it is in ~/.m2. */
export async function resolveClasspath(pom: string, properties: string[], file: string, what: string, onProgress: (m: string) => void): Promise<string> {
  if (fs.existsSync(file)) {
    const classpath = fs.readFileSync(file, 'utf8').trim();
    if (classpath && classpath.split(path.delimiter).every((jar) => fs.existsSync(jar))) return classpath;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  onProgress(`resolving ${what} jars with Maven (cached in ~/.m2)`);
  await runMaven([...properties, 'dependency:build-classpath', `-Dmdep.outputFile=${file}`], what, onProgress, pom);
  return fs.readFileSync(file, 'utf8').trim();
}

/** docker/maven/elasticmq-pom.xml: ElasticMQ, with the unpublished test artifact its pom names excluded. */
export const ELASTICMQ_POM_PATH = path.resolve(__dirname, '..', '..', 'docker', 'maven', 'elasticmq-pom.xml');

/** The Java classpath of ElasticMQ (an SQS-compatible server) of this version, resolved once and cached like Kafka's. */
export async function elasticMqClasspath(version: string, onProgress: (m: string) => void): Promise<string> {
  const file = path.join(cacheDir(), `elasticmq-${version}.classpath`);
  if (fs.existsSync(file)) {
    const classpath = fs.readFileSync(file, 'utf8').trim();
    if (classpath && classpath.split(path.delimiter).every((jar) => fs.existsSync(jar))) return classpath;
  }
  fs.mkdirSync(cacheDir(), { recursive: true });
  onProgress(`resolving ElasticMQ ${version} jars with Maven (cached in ~/.m2)`);
  await runMaven([`-Delasticmq.version=${version}`, 'dependency:build-classpath', `-Dmdep.outputFile=${file}`], `ElasticMQ ${version}`, onProgress, ELASTICMQ_POM_PATH);
  return fs.readFileSync(file, 'utf8').trim();
}

/**
 * The runnable jar of Apicurio Registry of this version, unpacked from its Maven Central archive
 * (classifier `all`). 3.0.x ships a legacy `*-runner.jar`, later releases a Quarkus fast-jar.
 */
export async function registryJar(version: string, onProgress: (m: string) => void): Promise<string> {
  const dir = path.join(cacheDir(), `apicurio-registry-${version}`);
  const found = findRunnableJar(dir);
  if (found) return found;
  fs.mkdirSync(dir, { recursive: true });
  onProgress(`fetching Apicurio Registry ${version} with Maven (cached in ~/.m2)`);
  // Not a pom dependency: the archive's parent pom is missing on Central, which `copy` tolerates.
  await runMaven(
    [`-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`, `-DoutputDirectory=${dir}`, 'dependency:copy'],
    `Apicurio Registry ${version}`,
    onProgress,
  );
  const archive = path.join(dir, `apicurio-registry-app-${version}-all.tar.gz`);
  const untar = runSync('tar', ['xzf', archive, '-C', dir]);
  if (untar.code !== 0) throw new ArtifactFetchError(`could not unpack ${archive}: ${untar.output}`);
  fs.rmSync(archive, { force: true });
  const jar = findRunnableJar(dir);
  if (!jar) {
    throw new ArtifactFetchError(`Apicurio Registry ${version} was unpacked into ${dir} but holds no quarkus-run.jar or *-runner.jar`);
  }
  return jar;
}

function findRunnableJar(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const fastJar = path.join(dir, 'quarkus-run.jar');
  if (fs.existsSync(fastJar)) return fastJar;
  const runner = fs.readdirSync(dir).find((f) => f.endsWith('-runner.jar'));
  return runner ? path.join(dir, runner) : undefined;
}

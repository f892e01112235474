import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { registerCommands } from '../../src/cli/commands';
import { loadConfig, parseDuration } from '../../src/namespaces';
import { createCertificates } from '../support/certificates';

/**
 * The Helm chart in deploy/helm/wal, checked the way CI can without a Kubernetes cluster: `helm lint`
 * and `helm template` with both example values files, the rendered manifests validated offline against
 * the Kubernetes schemas (kubernetes-validate), and the rendered objects parsed for what must hold in
 * any release: probes on the port the container serves, credentials referenced and never inlined, a
 * state volume per processor pod, a grace period longer than the shutdown timeout, non-root pods, one
 * `wal start --shard <name>` per shard, the namespace registry's flags exactly when it is enabled, and
 * only options the built CLI's `--help` lists, each with the argument it takes.
 *
 * helm and kubernetes-validate come from scripts/install-deploy-tools.sh, dist/ from `npm run build`
 * (npm test's pretest runs both). A missing tool or build fails these tests; they never skip.
 */

const root = path.resolve(__dirname, '../..');
const chart = path.join(root, 'deploy/helm/wal');
const tools = path.join(process.env.WAL_TOOLS_DIR ?? path.join(os.homedir(), '.cache/wal-tools'), 'bin');
/**
 * The oldest Kubernetes the chart declares (Chart.yaml kubeVersion >=1.25) and the newest that
 * kubernetes-validate 1.37.0 ships schemas for: the manifests must be valid for both.
 */
const KUBERNETES_VERSIONS = ['1.25.0', '1.37.0'];
const examples = { kind: path.join(chart, 'examples/kind-values.yaml'), production: path.join(chart, 'examples/production-values.yaml') };
/** The namespaces the production example applies to its registry (its header shows the command). */
const productionNamespaces = path.join(chart, 'examples/production-namespaces.yaml');
const cli = path.join(root, 'dist/cli/main.js');

function tool(name: string): string {
  const file = path.join(tools, name);
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(`${file} is missing: run \`bash scripts/install-deploy-tools.sh\` (npm test's pretest does)`);
  }
  return file;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}
function run(file: string, args: string[]): Run {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// ── the rendered objects ─────────────────────────────────────────────────────────────────────────
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet?: { path: string; port: number | string; scheme?: string };
}
interface Container {
  name: string;
  image: string;
  args: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  volumes?: { name: string; secret?: { secretName: string }; configMap?: { name: string } }[];
  affinity?: { podAntiAffinity?: Record<string, unknown> };
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    replicas?: number;
    serviceName?: string;
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    template?: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: { metadata: { name: string }; spec: { accessModes: string[]; resources: { requests: { storage: string } } } }[];
    ports?: { name: string; port: number; targetPort: string | number }[];
    clusterIP?: string;
    endpoints?: { port: string; path: string }[];
    scaleTargetRef?: { kind: string; name: string };
  };
  data?: Record<string, string>;
}

function template(values: string[], sets: string[] = []): { text: string; objects: K8sObject[] } {
  const r = run(tool('helm'), ['template', 'wal', chart, ...values.flatMap((v) => ['-f', v]), ...sets.flatMap((s) => ['--set', s])]);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  const objects = parseAllDocuments(r.stdout)
    .map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
  return { text: r.stdout, objects };
}

const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const podOf = (o: K8sObject): PodSpec => o.spec!.template!.spec;
function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
/** The values after a variadic option, up to the next option. */
function variadic(args: readonly string[], name: string): string[] {
  const i = args.indexOf(name);
  if (i < 0) return [];
  const rest = args.slice(i + 1);
  const end = rest.findIndex((a) => a.startsWith('-'));
  return end < 0 ? rest : rest.slice(0, end);
}
/** A probe's port as a number: a named port is looked up in the container's ports. */
function probePort(container: Container, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** How an option of the built CLI takes its argument, as its `--help` line shows it. */
type Arity = 'none' | 'one' | 'optional' | 'variadic';
/**
 * The options of `wal <sub>` as the built CLI's help lists them (dist/cli/main.js: what the image
 * runs), e.g. `--shard <name>` → one, `--registry [alias]` → optional, `--namespace <names...>` → variadic.
 */
function helpOptions(sub: string): Map<string, Arity> {
  try {
    accessSync(cli, constants.R_OK);
  } catch {
    throw new Error(`${cli} is missing: run \`npm run build\` (npm test's pretest does)`);
  }
  const help = execFileSync(process.execPath, [cli, sub, '--help'], { encoding: 'utf8' });
  const options = new Map<string, Arity>();
  for (const m of help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)(?: (<[^>]+>|\[[^\]]+\]))?/gm)) {
    const arg = m[2];
    options.set(m[1], arg === undefined ? 'none' : arg.startsWith('[') ? 'optional' : arg.endsWith('...>') ? 'variadic' : 'one');
  }
  return options;
}
/** What a command line breaks of the options' arities (an unknown option, a missing or stray value). */
function argumentProblems(args: readonly string[], options: ReadonlyMap<string, Arity>): string[] {
  const problems: string[] = [];
  const isValue = (a: string | undefined) => a !== undefined && !a.startsWith('-');
  for (let i = 0; i < args.length; i++) {
    const arity = options.get(args[i]);
    if (!args[i].startsWith('-')) problems.push(`${args[i]}: a value without an option`);
    else if (arity === undefined) problems.push(`${args[i]}: not an option of the CLI`);
    else if (arity === 'one' || arity === 'variadic') {
      if (!isValue(args[i + 1])) problems.push(`${args[i]}: needs a value`);
      else i += 1;
      while (arity === 'variadic' && isValue(args[i + 1])) i += 1;
    } else if (arity === 'optional' && isValue(args[i + 1])) i += 1;
  }
  return problems;
}

/** The numeric uid the image runs as (docker/Dockerfile, last stage). */
function imageUid(): number {
  const dockerfile = readFileSync(path.join(root, 'docker/Dockerfile'), 'utf8');
  const runtime = dockerfile.split(/^FROM /m).pop()!;
  return Number(/^USER\s+(\d+)/m.exec(runtime)?.[1]);
}

describe('deploy/helm/wal', () => {
  let dir: string;
  let renders: Record<keyof typeof examples, ReturnType<typeof template>>;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wal-helm-'));
    renders = { kind: template([examples.kind]), production: template([examples.production]) };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(Object.entries(examples))('passes helm lint --strict with examples/%s-values.yaml', (_name, values) => {
    const r = run(tool('helm'), ['lint', '--strict', chart, '-f', values]);
    expect({ status: r.status, out: r.stdout + r.stderr }).toMatchObject({ status: 0 });
    expect(r.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it.each(Object.keys(examples).flatMap((name) => KUBERNETES_VERSIONS.map((version) => [name, version])))(
    'renders examples/%s-values.yaml into manifests valid for Kubernetes %s (kubernetes-validate --strict, offline)',
    (name, version) => {
      const { objects } = renders[name as keyof typeof examples];
      // The ServiceMonitor is a Prometheus Operator CRD, outside the Kubernetes schemas: checked below.
      const core = objects.filter((o) => !o.apiVersion.startsWith('monitoring.coreos.com/'));
      const file = path.join(dir, `${name}-${version}.yaml`);
      writeFileSync(file, core.map((o) => JSON.stringify(o)).join('\n---\n'));
      const r = run(tool('kubernetes-validate'), ['--strict', '--kubernetes-version', version, file]);
      expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: expect.any(String) });
      // One "passed" line per object: none was skipped (an unknown kind is only a warning).
      expect(((r.stdout + r.stderr).match(/ passed for resource /g) ?? []).length).toBe(core.length);
    },
  );

  it('runs one StatefulSet per shard, each with wal start --shard <its name>, whose namespaces the files or the registry define', () => {
    const shardsOf = (file: string) => (parseAllDocuments(readFileSync(file, 'utf8'))[0].toJS() as { shards: { name: string; namespaces?: string[] }[] }).shards;
    const namespacesIn = (text: string) => ((parseAllDocuments(text)[0].toJS() as { namespaces?: { name: string; shard?: string }[] }).namespaces ?? []).map((n) => ({ name: n.name, shard: n.shard ?? 'default' }));
    for (const [name, file] of Object.entries(examples)) {
      const { objects } = renders[name as keyof typeof examples];
      const shards = shardsOf(file);
      const sets = ofKind(objects, 'StatefulSet');
      expect(sets.map((s) => s.metadata.labels!['wal.dev/shard'])).toEqual(shards.map((s) => s.name));
      const topologies = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name.endsWith('-topologies'))!;
      const registry = podOf(sets[0]).containers[0].args.includes('--registry');
      // The namespaces each shard runs: the files' (kind) or those the example applies to the registry (production).
      const defined = registry ? namespacesIn(readFileSync(productionNamespaces, 'utf8')) : Object.values(topologies.data!).flatMap(namespacesIn);
      for (const [i, set] of sets.entries()) {
        const args = podOf(set).containers[0].args;
        expect([set.metadata.name, option(args, '--shard'), args.filter((a) => a === '--shard').length]).toEqual([set.metadata.name, shards[i].name, 1]);
        // --namespace only as the optional further filter; none of the examples needs it.
        expect([set.metadata.name, variadic(args, '--namespace')]).toEqual([set.metadata.name, shards[i].namespaces ?? []]);
        // The shard has something to run: `wal start --shard` without a namespace of its shard exits (files only).
        expect([set.metadata.name, defined.some((n) => n.shard === shards[i].name)]).toEqual([set.metadata.name, true]);
        // The headless Service the StatefulSet names exists and carries the admin port.
        const service = ofKind(objects, 'Service').find((s) => s.metadata.name === set.spec!.serviceName);
        expect(service?.spec?.clusterIP).toBe('None');
      }
      // Every namespace is run by some shard: none is left to a shard no StatefulSet runs.
      for (const ns of defined) expect([ns.name, shards.map((s) => s.name)]).toEqual([ns.name, expect.arrayContaining([ns.shard])]);
    }
    // The filter, for releases written before --shard: passed as --namespace after --shard.
    const { objects } = template([examples.kind], ['shards[1].namespaces={reminders}']);
    const args = podOf(ofKind(objects, 'StatefulSet')[1]).containers[0].args;
    expect([option(args, '--shard'), variadic(args, '--namespace')]).toEqual(['reminders', ['reminders']]);
    expect(variadic(podOf(ofKind(objects, 'StatefulSet')[0]).containers[0].args, '--namespace')).toEqual([]);
  });

  it('passes --registry <cluster> --registry-topic <topic> to every processor exactly when registry.enabled, and never to the API', () => {
    const registryFlags = (args: readonly string[]) => args.filter((a) => a.startsWith('--registry'));
    const cases: [string, ReturnType<typeof template>, string[]][] = [
      ['kind (files)', renders.kind, []],
      ['production (registry)', renders.production, ['--registry', 'prod', '--registry-topic', 'wal.namespaces']],
      ['kind + registry.enabled, alias from the only cluster', template([examples.kind], ['registry.enabled=true']), ['--registry', '--registry-topic', 'wal.namespaces']],
      ['kind + registry on primary, own topic', template([examples.kind], ['registry.enabled=true', 'registry.cluster=primary', 'registry.topic=ops.namespaces']), ['--registry', 'primary', '--registry-topic', 'ops.namespaces']],
    ];
    for (const [name, { objects }, expected] of cases) {
      const sets = ofKind(objects, 'StatefulSet');
      expect(sets.length).toBeGreaterThan(0);
      for (const set of sets) {
        const args = podOf(set).containers[0].args;
        const at = args.indexOf('--registry');
        expect([name, set.metadata.name, at < 0 ? [] : args.slice(at, at + expected.length)]).toEqual([name, set.metadata.name, expected]);
        expect([name, registryFlags(args).length]).toEqual([name, registryFlags(expected).length]);
      }
      for (const api of ofKind(objects, 'Deployment')) expect([name, registryFlags(podOf(api).containers[0].args)]).toEqual([name, []]);
    }
  });

  it('uses only commands and options the wal CLI defines (src and the built CLI\'s --help), each with its argument, and topology files that load with the pod\'s environment', () => {
    const program = new Command();
    registerCommands(program);
    const help = new Map<string, Map<string, Arity>>();
    const helpOf = (sub: string) => help.get(sub) ?? help.set(sub, helpOptions(sub)).get(sub)!;
    // The parser sees what wal start --help shows: the options the chart renders among them.
    expect(Object.fromEntries(['--topology', '--shard', '--registry', '--registry-topic', '--namespace'].map((o) => [o, helpOf('start').get(o)]))).toEqual({
      '--topology': 'variadic',
      '--shard': 'one',
      '--registry': 'optional',
      '--registry-topic': 'one',
      '--namespace': 'variadic',
    });
    const tls = path.join(dir, 'tls');
    mkdirSync(tls, { recursive: true });
    const certs = createCertificates(tls);
    const withRegistry = template([examples.kind], ['registry.enabled=true', 'shards[0].namespaces={delayed-notifications}', 'processor.createTopics=true']);
    for (const [name, { objects }] of [...Object.entries(renders), ['kind + registry + --namespace', withRegistry] as const]) {
      for (const workload of [...ofKind(objects, 'StatefulSet'), ...ofKind(objects, 'Deployment')]) {
        const [sub, ...args] = podOf(workload).containers[0].args;
        const command = program.commands.find((c) => c.name() === sub)!;
        expect([name, sub, command !== undefined]).toEqual([name, sub, true]);
        const known = new Set(command.options.flatMap((o) => [o.long, o.short]).filter(Boolean));
        for (const arg of args.filter((a) => a.startsWith('-'))) expect([name, workload.metadata.name, arg, known.has(arg)]).toEqual([name, workload.metadata.name, arg, true]);
        expect([name, workload.metadata.name, argumentProblems(args, helpOf(sub))]).toEqual([name, workload.metadata.name, []]);
      }
      // The files of the topology ConfigMap, with the env the pod gets: plain values as rendered, a
      // secret as a stand-in, and the TLS Secret's mount as a directory with a real CA in it.
      const container = podOf(ofKind(objects, 'StatefulSet')[0]).containers[0];
      const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? (e.valueFrom?.secretKeyRef ? 'from-a-secret' : 'pod-0')]));
      const tlsMount = container.volumeMounts?.find((m) => m.name === 'kafka-tls')?.mountPath;
      const files = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name.endsWith('-topologies'))!.data!;
      for (const [file, text] of Object.entries(files)) {
        const local = tlsMount ? text.split(`file:${tlsMount}/`).join(`file:${tls}/`) : text;
        if (tlsMount) for (const ref of local.matchAll(/file:(\S+)/g)) writeFileSync(ref[1], certs.ca);
        const target = path.join(dir, `${name}-${file}`);
        writeFileSync(target, local);
        const config = loadConfig([target], env);
        expect(Object.keys(config.clusters).length).toBeGreaterThan(0);
        // With the registry the files may define clusters only (production's do); without it they hold the namespaces.
        if (!container.args.includes('--registry')) expect(config.namespaces.length).toBeGreaterThan(0);
        // What the production example applies to its registry validates against its clusters, as `wal namespace apply` does.
        if (name === 'production') expect(loadConfig([target, productionNamespaces], env).namespaces.map((n) => n.name)).toEqual(['delayed-notifications', 'orders-delay']);
      }
    }
  });

  it('probes /health (liveness) and /ready (readiness) on the port each container serves', () => {
    for (const { objects } of Object.values(renders)) {
      for (const set of ofKind(objects, 'StatefulSet')) {
        const pod = podOf(set);
        const c = pod.containers[0];
        const adminPort = Number(option(c.args, '--admin-port'));
        expect(adminPort).toBeGreaterThan(0);
        expect([c.livenessProbe?.httpGet?.path, probePort(c, c.livenessProbe)]).toEqual(['/health', adminPort]);
        expect([c.readinessProbe?.httpGet?.path, probePort(c, c.readinessProbe)]).toEqual(['/ready', adminPort]);
        // Prometheus scrapes the same port.
        const annotations = set.spec!.template!.metadata.annotations!;
        expect([annotations['prometheus.io/scrape'], Number(annotations['prometheus.io/port']), annotations['prometheus.io/path']]).toEqual(['true', adminPort, '/metrics']);
      }
      for (const api of ofKind(objects, 'Deployment')) {
        const c = podOf(api).containers[0];
        const port = Number(option(c.args, '--port'));
        expect(option(c.args, '--host')).toBe('0.0.0.0');
        expect([c.livenessProbe?.httpGet?.path, probePort(c, c.livenessProbe)]).toEqual(['/health', port]);
        expect([c.readinessProbe?.httpGet?.path, probePort(c, c.readinessProbe)]).toEqual(['/ready', port]);
        expect(c.readinessProbe?.httpGet?.scheme).toBe(option(c.args, '--tls-cert') ? 'HTTPS' : 'HTTP');
      }
    }
  });

  it('gives every processor pod its own PersistentVolumeClaim, mounted where --state-dir points, and its pod name as instance id', () => {
    for (const { objects } of Object.values(renders)) {
      for (const set of ofKind(objects, 'StatefulSet')) {
        const claims = set.spec!.volumeClaimTemplates ?? [];
        expect(claims.map((c) => c.metadata.name)).toEqual(['state']);
        expect(claims[0].spec.accessModes).toEqual(['ReadWriteOnce']);
        expect(claims[0].spec.resources.requests.storage).toMatch(/^\d+(Mi|Gi|Ti)$/);
        const pod = podOf(set);
        // Not a pod volume (shared or ephemeral): the claim template makes one per pod.
        expect((pod.volumes ?? []).map((v) => v.name)).not.toContain('state');
        const c = pod.containers[0];
        expect(c.volumeMounts?.find((m) => m.name === 'state')?.mountPath).toBe(option(c.args, '--state-dir'));
        expect(c.env?.find((e) => e.name === 'WAL_INSTANCE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
      }
    }
  });

  it('waits longer than --shutdown-timeout before killing a processor, and refuses to render otherwise', () => {
    for (const { objects } of Object.values(renders)) {
      for (const set of ofKind(objects, 'StatefulSet')) {
        const pod = podOf(set);
        const shutdownMs = parseDuration(option(pod.containers[0].args, '--shutdown-timeout')!)!;
        expect(shutdownMs).toBeGreaterThan(0);
        expect(pod.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(shutdownMs);
      }
    }
    expect(() => template([examples.kind], ['processor.shutdownTimeoutSeconds=60', 'processor.terminationGracePeriodSeconds=60'])).toThrow(
      /terminationGracePeriodSeconds \(60\) must exceed processor.shutdownTimeoutSeconds \(60\)/,
    );
  });

  it('runs every pod as the image\'s non-root uid, read-only root filesystem, no privilege escalation, no capabilities', () => {
    const uid = imageUid();
    expect(uid).toBeGreaterThan(0);
    for (const { objects } of Object.values(renders)) {
      for (const workload of [...ofKind(objects, 'StatefulSet'), ...ofKind(objects, 'Deployment')]) {
        const pod = podOf(workload);
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid, fsGroup: expect.any(Number) });
        for (const c of pod.containers) {
          expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
          // The read-only root needs a writable /tmp.
          expect(c.volumeMounts?.some((m) => m.mountPath === '/tmp')).toBe(true);
        }
      }
    }
  });

  it('references credentials from existing Secrets and never renders inline values next to them', () => {
    const inline = ['kafka.sasl.password=INLINE-KAFKA-PASSWORD', 'registry.auth.password=INLINE-REGISTRY-PASSWORD', 'api.apiKeys.keysFile=INLINE-API-KEYS'];
    const { text, objects } = template([examples.production], inline);
    for (const secret of ['INLINE-KAFKA-PASSWORD', 'INLINE-REGISTRY-PASSWORD', 'INLINE-API-KEYS']) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(Buffer.from(secret).toString('base64'));
    }
    expect(ofKind(objects, 'Secret')).toEqual([]);
    for (const workload of [...ofKind(objects, 'StatefulSet'), ...ofKind(objects, 'Deployment')]) {
      const pod = podOf(workload);
      const env = pod.containers[0].env ?? [];
      expect(env.find((e) => e.name === 'WAL_KAFKA_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'wal-kafka', key: 'password' });
      expect(env.find((e) => e.name === 'WAL_REGISTRY_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'wal-registry', key: 'password' });
      // No credential-looking variable carries a value.
      for (const e of env.filter((v) => /PASSWORD|SECRET|TOKEN|KEY/.test(v.name))) expect([e.name, e.value]).toEqual([e.name, undefined]);
      expect(pod.volumes?.find((v) => v.name === 'kafka-tls')?.secret?.secretName).toBe('wal-kafka-tls');
    }
    const api = podOf(ofKind(objects, 'Deployment')[0]);
    expect(api.volumes?.find((v) => v.name === 'api-keys')?.secret?.secretName).toBe('wal-api-keys');
    expect(option(api.containers[0].args, '--keys-file')).toBe('/etc/wal/api-keys/keys.yaml');
    expect(api.containers[0].args).not.toContain('--insecure');
  });

  it('keeps inline (development) credentials in a Secret it creates, referenced from the pods, never in a pod spec', () => {
    const { objects } = template([examples.kind], ['kafka.sasl.password=dev-only-password']);
    const [secret] = ofKind(objects, 'Secret');
    expect(Buffer.from(secret.data!['kafka-password'], 'base64').toString()).toBe('dev-only-password');
    for (const workload of [...ofKind(objects, 'StatefulSet'), ...ofKind(objects, 'Deployment')]) {
      const env = podOf(workload).containers[0].env ?? [];
      expect(env.find((e) => e.name === 'WAL_KAFKA_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: secret.metadata.name, key: 'kafka-password' });
      expect(JSON.stringify(workload)).not.toContain('dev-only-password');
    }
  });

  it('refuses an API on the pod address without keys unless insecure, and a release without topologies', () => {
    expect(() => template([examples.kind], ['api.insecure=false'])).toThrow(/set api.apiKeys.existingSecret/);
    expect(() => template([], [])).toThrow(/topologies: set topologies.files/);
  });

  it('refuses shards wal start --shard would find empty or could not filter, and a registry cluster the files lack', () => {
    // Files only: a shard none of the files' namespaces belongs to (wal would exit, the pods crash-loop).
    expect(() => template([examples.kind], ['shards[2].name=billing'])).toThrow(/no namespace of topologies.files is in shard "billing"/);
    // The production files define clusters only: without the registry no shard has anything to run.
    expect(() => template([examples.production], ['registry.enabled=false'])).toThrow(/no namespace of topologies.files is in shard "notifications"/);
    // --namespace names one of another shard, or one the files lack.
    expect(() => template([examples.kind], ['shards[0].namespaces={reminders}'])).toThrow(/lists namespace "reminders", whose shard in topologies.files is "reminders"/);
    expect(() => template([examples.kind], ['shards[0].namespaces={nope}'])).toThrow(/lists namespace "nope", which topologies.files do not define/);
    expect(() => template([examples.production], ['registry.cluster=staging'])).toThrow(/registry.cluster "staging" is not a cluster of topologies.files \(defined: prod\)/);
    // With the registry a shard may have nothing in the files: the registry brings its namespaces.
    expect(ofKind(template([examples.kind], ['registry.enabled=true', 'shards[2].name=billing']).objects, 'StatefulSet')).toHaveLength(3);
    // A ConfigMap the chart cannot read is left to wal.
    expect(ofKind(template([examples.kind], ['topologies.existingConfigMap=mine', 'shards[2].name=billing']).objects, 'StatefulSet')).toHaveLength(3);
  });

  it('runs the production example with 3 processors per shard on distinct nodes, disruption budgets, an HPA and a ServiceMonitor', () => {
    const { objects } = renders.production;
    for (const set of ofKind(objects, 'StatefulSet')) {
      expect(set.spec!.replicas).toBe(3);
      const anti = podOf(set).affinity?.podAntiAffinity as { requiredDuringSchedulingIgnoredDuringExecution?: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[] };
      const [term] = anti.requiredDuringSchedulingIgnoredDuringExecution!;
      expect(term.topologyKey).toBe('kubernetes.io/hostname');
      expect(term.labelSelector.matchLabels).toEqual(set.spec!.selector!.matchLabels);
      const pdb = ofKind(objects, 'PodDisruptionBudget').find((p) => p.metadata.name === set.metadata.name);
      expect(pdb?.spec?.selector?.matchLabels).toEqual(set.spec!.selector!.matchLabels);
    }
    const [deployment] = ofKind(objects, 'Deployment');
    expect(deployment.spec!.replicas).toBeUndefined();
    expect(ofKind(objects, 'HorizontalPodAutoscaler')[0].spec!.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    const [monitor] = ofKind(objects, 'ServiceMonitor');
    expect(monitor.spec!.endpoints).toEqual([expect.objectContaining({ port: 'admin', path: '/metrics' })]);
    const selected = ofKind(objects, 'Service').filter((s) => Object.entries(monitor.spec!.selector!.matchLabels!).every(([k, v]) => s.metadata.labels?.[k] === v));
    expect(selected.length).toBe(ofKind(objects, 'StatefulSet').length);
    for (const s of selected) expect(s.spec!.ports!.map((p) => p.name)).toContain('admin');
  });

  it('ships deploy/grafana/wal-dashboard.json as a ConfigMap for the Grafana sidecar, byte for byte', () => {
    const dashboard = readFileSync(path.join(root, 'deploy/grafana/wal-dashboard.json'), 'utf8');
    for (const { objects } of Object.values(renders)) {
      const cm = ofKind(objects, 'ConfigMap').find((c) => c.metadata.name.endsWith('-dashboard'))!;
      expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
      expect(cm.data!['wal-dashboard.json']).toBe(dashboard.trimEnd());
    }
  });

  it('documents every value in values.yaml with a comment', () => {
    // A key is documented by a comment right above it (or on its line), or by one above an enclosing
    // key whose value it is part of (e.g. the fields of a default `resources` object). A key without
    // either must be a section heading, whose keys are then each documented.
    const lines = readFileSync(path.join(chart, 'values.yaml'), 'utf8').split('\n');
    const stack: { indent: number; commented: boolean }[] = [];
    const undocumented: string[] = [];
    for (const [i, line] of lines.entries()) {
      const key = /^(\s*)(?:- )?[A-Za-z][\w.-]*:(.*)$/.exec(line);
      if (!key) continue;
      const indent = key[1].length;
      while (stack.length > 0 && stack[stack.length - 1].indent >= indent) stack.pop();
      const own = /^\s*#/.test(lines[i - 1] ?? '') || /\s#\s/.test(key[2]);
      const inherited = stack.some((s) => s.commented);
      const heading = key[2].trim() === '' && /^\s*/.exec(lines[i + 1] ?? '')![0].length > indent;
      if (!own && !inherited && !heading) undocumented.push(`${i + 1}: ${line.trim()}`);
      stack.push({ indent, commented: own || inherited });
    }
    expect(undocumented).toEqual([]);
  });
});

// The installer pins the versions the tests name; a bump changes both.
describe('scripts/install-deploy-tools.sh', () => {
  it('pins helm v4 (built with go install) and kubernetes-validate, and the installed tools are those versions', () => {
    const script = readFileSync(path.join(root, 'scripts/install-deploy-tools.sh'), 'utf8');
    const helm = /HELM_VERSION="(v4\.\d+\.\d+)"/.exec(script)?.[1];
    const validate = /KUBERNETES_VALIDATE_VERSION="(\d+\.\d+\.\d+)"/.exec(script)?.[1];
    expect(script).toMatch(/install .*"helm\.sh\/helm\/v4\/cmd\/helm@\$HELM_VERSION"/);
    expect(execFileSync(tool('helm'), ['version', '--template', '{{.Version}}'], { encoding: 'utf8' })).toBe(helm);
    expect(execFileSync(tool('kubernetes-validate'), ['--version'], { encoding: 'utf8' }).trim()).toContain(validate);
  });
});

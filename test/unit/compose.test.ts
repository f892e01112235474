import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { parseDocument } from 'yaml';
import { registerCommands } from '../../src/cli/commands';
import { loadConfig } from '../../src/namespaces';

/**
 * No Docker engine runs where wal is developed, so docker-compose.yml is validated here instead of
 * being run: its structure, ports, health checks, dependencies, the files it mounts, and that every
 * wal command in it is one the CLI accepts and runs a topology that loads with the service's env.
 */

const root = path.resolve(__dirname, '../..');

interface Healthcheck {
  test: string[] | string;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}
interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

function loadCompose(): Compose {
  const doc = parseDocument(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
  expect(doc.errors.map((e) => e.message)).toEqual([]);
  expect(doc.warnings.map((e) => e.message)).toEqual([]);
  return doc.toJS() as Compose;
}

const compose = loadCompose();
const services = compose.services;
const processors = Object.entries(services).filter(([, s]) => s.command?.[0] === 'start');
const walServices = Object.entries(services).filter(([, s]) => s.image === 'wal:local');

/** Compose's own interpolation of `${VAR:-default}` with VAR unset. */
function composeValue(value: string): string {
  return value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
}

/** The host path a container path comes from through a bind mount of `service`, if any. */
function hostPath(service: Service, containerPath: string): string | undefined {
  for (const volume of service.volumes ?? []) {
    const [source, target] = volume.split(':');
    if (!source.startsWith('.') && !source.startsWith('/')) continue;
    if (containerPath === target || containerPath.startsWith(`${target}/`)) return path.join(root, source, containerPath.slice(target.length));
  }
  return undefined;
}

function option(command: string[], name: string): string | undefined {
  const i = command.indexOf(name);
  return i >= 0 ? command[i + 1] : undefined;
}

function healthUrl(check: Healthcheck): URL {
  const text = Array.isArray(check.test) ? check.test.join(' ') : check.test;
  const match = /https?:\/\/[^'"\s)]+/.exec(text);
  if (!match) throw new Error(`health check without a URL: ${text}`);
  return new URL(match[0]);
}

describe('docker-compose.yml', () => {
  it('has the infrastructure and one wal processor per sample topology, plus the API, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'elasticmq',
        'grafana',
        'kafka-a',
        'kafka-b',
        'memcached',
        'memcached-b',
        'postgres',
        'prometheus',
        'redis',
        'registry',
        'wal-api',
        'wal-cache-replication',
        'wal-delayed-queue',
        'wal-delayed-queue-sqs',
        'wal-multi-table',
        'wal-replication',
      ].sort(),
    );
    const samples = readdirSync(path.join(root, 'topologies')).filter((f) => f.endsWith('.yaml'));
    const run = processors.map(([, s]) => path.basename(option(s.command!, '--topology')!)).sort();
    expect(run).toEqual(samples.sort());
  });

  it('gives every service an image (wal services build docker/Dockerfile) and a health check', () => {
    for (const [name, service] of Object.entries(services)) {
      expect([name, typeof service.image]).toEqual([name, 'string']);
      const check = service.healthcheck;
      expect([name, Array.isArray(check?.test) && check.test.length > 1]).toEqual([name, true]);
      expect([name, check?.interval && check.timeout && (check.retries ?? 0) > 0]).toEqual([name, expect.anything()]);
    }
    for (const [name, service] of walServices) {
      expect([name, service.build]).toEqual([name, { context: '.', dockerfile: 'docker/Dockerfile' }]);
      expect(existsSync(path.join(root, service.build!.context, service.build!.dockerfile))).toBe(true);
    }
  });

  it('publishes each host port once, and checks a processor\'s health on the admin port it serves and publishes', () => {
    const host = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':')[0]));
    expect(new Set(host).size).toBe(host.length);
    for (const [name, service] of processors) {
      const adminPort = option(service.command!, '--admin-port');
      expect([name, adminPort]).toEqual([name, '9464']);
      const url = healthUrl(service.healthcheck!);
      expect([name, url.port, url.pathname]).toEqual([name, adminPort, '/ready']);
      expect([name, service.ports?.some((p) => p.endsWith(`:${adminPort}`))]).toEqual([name, true]);
    }
    const api = services['wal-api'];
    expect(healthUrl(api.healthcheck!).port).toBe(option(api.command!, '--port'));
    expect(option(api.command!, '--host')).toBe('0.0.0.0');
  });

  it('starts a service only after what it depends on is healthy, without cycles', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect([name, dep, dep in services]).toEqual([name, dep, true]);
        expect(['service_healthy', 'service_started', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') expect([dep, services[dep].healthcheck !== undefined]).toEqual([dep, true]);
      }
    }
    const visiting = new Set<string>();
    const visit = (name: string, trail: string[]) => {
      if (visiting.has(name)) throw new Error(`depends_on cycle: ${[...trail, name].join(' → ')}`);
      visiting.add(name);
      for (const dep of Object.keys(services[name].depends_on ?? {})) visit(dep, [...trail, name]);
      visiting.delete(name);
    };
    for (const name of Object.keys(services)) visit(name, []);
    // What each processor's topology needs must be up first.
    expect(Object.keys(services['wal-multi-table'].depends_on!).sort()).toEqual(['kafka-a', 'postgres', 'redis', 'registry']);
    expect(Object.keys(services['wal-replication'].depends_on!).sort()).toEqual(['kafka-a', 'kafka-b', 'registry']);
    expect(Object.keys(services['wal-delayed-queue-sqs'].depends_on!).sort()).toEqual(['elasticmq', 'kafka-a', 'registry']);
    expect(Object.keys(services['wal-cache-replication'].depends_on!).sort()).toEqual(['kafka-a', 'kafka-b', 'memcached', 'memcached-b', 'registry']);
  });

  it('declares every named volume, mounts files that exist, and gives each processor its own state volume', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const [source] = volume.split(':');
        if (source.startsWith('.') || source.startsWith('/')) expect([name, volume, existsSync(path.join(root, source))]).toEqual([name, volume, true]);
        else expect([name, source, source in (compose.volumes ?? {})]).toEqual([name, source, true]);
      }
    }
    const stateVolumes = processors.map(([, s]) => s.volumes!.find((v) => v.endsWith(':/var/lib/wal'))?.split(':')[0]);
    expect(stateVolumes.every((v) => v !== undefined)).toBe(true);
    expect(new Set(stateVolumes).size).toBe(processors.length);
  });

  it('runs topology files that exist on the host and load with the service\'s environment, reaching services of the stack', () => {
    for (const [name, service] of [...processors, ['wal-api', services['wal-api']] as const]) {
      const topology = option(service.command!, '--topology')!;
      const file = hostPath(service, topology);
      expect([name, topology, file !== undefined && existsSync(file)]).toEqual([name, topology, true]);
      const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, composeValue(String(v))]));
      const files = statSync(file!).isDirectory() ? readdirSync(file!).filter((f) => f.endsWith('.yaml')).map((f) => path.join(file!, f)) : [file!];
      for (const f of files) {
        const config = loadConfig([f], env);
        for (const cluster of Object.values(config.clusters)) {
          for (const broker of cluster.brokers) expect([f, broker.split(':')[0] in services]).toEqual([f, true]);
          expect([f, new URL(cluster.schemaRegistryUrl).hostname in services]).toEqual([f, true]);
        }
        // An SQS namespace's endpoint is the stack's ElasticMQ, which the service waits for.
        for (const ns of config.namespaces) {
          if (ns.queue?.type !== 'sqs') continue;
          const host = new URL(ns.queue.endpoint!).hostname;
          expect([f, ns.name, host, host in services, service.depends_on?.[host]?.condition]).toEqual([f, ns.name, 'elasticmq', true, 'service_healthy']);
        }
      }
    }
    const env = services['wal-multi-table'].environment!;
    expect(new URL(env.WAL_POSTGRES_URL).hostname).toBe('postgres');
    expect(new URL(env.WAL_REDIS_URL).hostname).toBe('redis');
    expect(env.WAL_MEMCACHED_SERVERS).toBe(`memcached:${services.memcached.ports![0].split(':')[1]}`);
    // Region B's cache: its own server, at the port it listens on inside the network.
    expect(env.WAL_MEMCACHED_SERVERS_B).toBe(`memcached-b:${services['memcached-b'].ports![0].split(':')[1]}`);
  });

  it('uses only commands and options the wal CLI defines', () => {
    const program = new Command();
    registerCommands(program);
    for (const [name, service] of walServices) {
      const [sub, ...args] = service.command!;
      const command = program.commands.find((c) => c.name() === sub);
      expect([name, sub, command !== undefined]).toEqual([name, sub, true]);
      const known = new Set(command!.options.flatMap((o) => [o.long, o.short]).filter(Boolean));
      for (const arg of args.filter((a) => a.startsWith('-'))) {
        expect([name, arg, known.has(arg)]).toEqual([name, arg, true]);
      }
    }
  });

  it('has Prometheus scrape every processor on its admin port', () => {
    const prometheus = services.prometheus;
    const config = hostPath(prometheus, '/etc/prometheus/prometheus.yml')!;
    const doc = parseDocument(readFileSync(config, 'utf8'));
    expect(doc.errors).toEqual([]);
    const scrape = (doc.toJS() as { scrape_configs: { metrics_path: string; static_configs: { targets: string[] }[] }[] }).scrape_configs;
    const targets = scrape.flatMap((c) => c.static_configs.flatMap((s) => s.targets)).sort();
    expect(targets).toEqual(processors.map(([name, s]) => `${name}:${option(s.command!, '--admin-port')}`).sort());
    expect(scrape.every((c) => c.metrics_path === '/metrics')).toBe(true);
  });

  it('has Grafana provision the stack\'s Prometheus as its data source and load the wal dashboard from deploy/grafana', () => {
    const grafana = services.grafana;
    expect(Object.keys(grafana.depends_on ?? {})).toEqual(['prometheus']);
    const provisioning = hostPath(grafana, '/etc/grafana/provisioning')!;
    expect(provisioning).toBe(path.join(root, 'docker/grafana/provisioning'));

    const readYaml = <T>(file: string): T => {
      const doc = parseDocument(readFileSync(file, 'utf8'));
      expect(doc.errors).toEqual([]);
      return doc.toJS() as T;
    };
    const { datasources } = readYaml<{ datasources: { type: string; url: string; isDefault?: boolean }[] }>(path.join(provisioning, 'datasources/prometheus.yml'));
    expect(datasources).toHaveLength(1);
    const url = new URL(datasources[0].url);
    expect([datasources[0].type, datasources[0].isDefault, url.hostname]).toEqual(['prometheus', true, 'prometheus']);
    // The port Prometheus listens on inside the network (its published port maps to the same).
    expect(services.prometheus.ports).toContain(`${url.port}:${url.port}`);

    const { providers } = readYaml<{ providers: { type: string; options: { path: string } }[] }>(path.join(provisioning, 'dashboards/wal.yml'));
    expect(providers.map((p) => p.type)).toEqual(['file']);
    const dashboards = hostPath(grafana, providers[0].options.path);
    expect(dashboards).toBe(path.join(root, 'deploy/grafana'));
    const dashboard = JSON.parse(readFileSync(path.join(dashboards!, 'wal-dashboard.json'), 'utf8')) as { uid: string; templating: { list: { type: string; query: unknown }[] } };
    expect(dashboard.uid).toBe('wal-overview');
    // The dashboard picks its data source by type, so the provisioned Prometheus serves it.
    expect(dashboard.templating.list.find((v) => v.type === 'datasource')?.query).toBe(datasources[0].type);
    const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(home !== undefined && existsSync(hostPath(grafana, home)!)).toBe(true);
  });
});

describe('docker/Dockerfile', () => {
  const text = readFileSync(path.join(root, 'docker/Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);

  it('builds in one stage and runs from a second, small one as a non-root user with the wal CLI as entrypoint', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages[stages.length - 1];
    expect(runtime).toMatch(/^node:20[\w.-]*-slim/);
    expect(runtime).not.toMatch(/COPY\s+src\b/);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist/);
    const user = /^USER\s+(\S+)/m.exec(runtime)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(runtime).toMatch(/^ENTRYPOINT \[.*"\/app\/dist\/cli\/main\.js"\]/m);
    expect(runtime).toMatch(/^EXPOSE .*9464/m);
    // The build prunes dev dependencies before the runtime stage copies node_modules.
    expect(stages[0]).toMatch(/npm prune --omit=dev/);
  });

  it('copies only paths that exist, and leaves local state and builds out of the context', () => {
    for (const [, source] of text.matchAll(/^COPY (?!--from)(.+?) \S+$/gm)) {
      for (const p of source.split(/\s+/)) expect([p, existsSync(path.join(root, p))]).toEqual([p, true]);
    }
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', 'wal-state']) expect(ignored).toContain(p);
  });
});

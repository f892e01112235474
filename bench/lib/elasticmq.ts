import path from 'node:path';
import { ensureRecordedElasticMq, startElasticMq } from '../../src/devcluster';

/** The SQS-compatible server the SQS benches run on, found or started like the clusters. */
export interface BenchSqs {
  /** http://127.0.0.1:<port>, an SQS namespace's `endpoint`. */
  readonly endpoint: string;
  /** How it was found, for the results file. */
  readonly origin: string;
  /** Stops a server this run started; a no-op for one it found running. */
  stop(): Promise<void>;
}

/**
 * `--cluster-dir`'s ElasticMQ (the one `wal dev up` records there, started there if it is not
 * running), else WAL_SQS_ENDPOINT, else a private ElasticMQ in `privateDir`, stopped at the end.
 * ElasticMQ checks no signature, but the AWS SDK wants credentials: dummy ones unless set.
 */
export async function resolveElasticMq(options: { clusterDir?: string; privateDir: string; log: (line: string) => void }): Promise<BenchSqs> {
  process.env.AWS_ACCESS_KEY_ID ??= 'wal-bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'wal-bench';
  const none = async (): Promise<void> => undefined;
  if (options.clusterDir) {
    const recorded = await ensureRecordedElasticMq(options.clusterDir, (m) => options.log(`  ${m}`));
    return { endpoint: recorded.endpoint, origin: `ElasticMQ ${recorded.version} of the dev cluster in ${options.clusterDir}`, stop: none };
  }
  const fromEnv = process.env.WAL_SQS_ENDPOINT;
  if (fromEnv) return { endpoint: fromEnv, origin: 'WAL_SQS_ENDPOINT environment', stop: none };
  options.log(`no SQS endpoint given (--cluster-dir or WAL_SQS_ENDPOINT): starting a private ElasticMQ in ${options.privateDir}`);
  const server = await startElasticMq({ dir: path.join(options.privateDir, 'elasticmq'), onProgress: (m) => options.log(`  ${m}`) });
  return { endpoint: server.endpoint, origin: `private ElasticMQ started in ${options.privateDir}`, stop: () => server.stop() };
}

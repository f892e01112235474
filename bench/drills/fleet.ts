import fs from 'node:fs';
import path from 'node:path';
import { spawnChild, stopChild, waitForOutput, type Child } from '../lib/child';
import { REPO_ROOT } from '../lib/layout';

/** The CLI the drills run: `npm run drill` builds it first. */
const WAL_CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');

/**
 * Numbered slots of `wal start` processes on one namespace, as an operator runs them, with a 6 s
 * session timeout so that a killed member's partitions move within seconds. A slot keeps its
 * instance id and state dir across restarts, as a restarted pod with a persistent volume would.
 */
export class Fleet {
  private readonly children = new Map<number, Child>();
  /** Children the drill itself stopped or killed: their exit is not a crash. */
  private readonly expected = new WeakSet<Child>();
  /** Exits nobody asked for (a crash), for the drill's report. */
  readonly unexpectedExits: string[] = [];
  kills = 0;
  starts = 0;
  stops = 0;

  constructor(
    private readonly topologyFile: string,
    private readonly namespace: string,
    private readonly stateRoot: string,
    private readonly log: (line: string) => void,
  ) {}

  running(): number[] {
    return [...this.children.entries()].filter(([, c]) => !c.hasExited()).map(([slot]) => slot);
  }

  async start(slot: number): Promise<void> {
    const stateDir = path.join(this.stateRoot, `slot-${slot}`);
    fs.mkdirSync(stateDir, { recursive: true });
    const args = ['start', '--topology', this.topologyFile, '--namespace', this.namespace, '--instance-id', `drill-${slot}`, '--state-dir', stateDir, '--session-timeout', '6s'];
    const child = spawnChild(process.execPath, [WAL_CLI, ...args], { WAL_LOG_LEVEL: 'info' });
    this.children.set(slot, child);
    void child.exited.then((code) => {
      if (!this.expected.has(child)) this.unexpectedExits.push(`slot ${slot} exited ${code ?? 'by a signal'}: ${child.output().slice(-400)}`);
    });
    try {
      await waitForOutput(child, /wal started/, 60_000, `drill instance ${slot}`);
    } catch (error) {
      // Stopped or killed by the drill before it was up (a storm does that): not a failure.
      if (this.expected.has(child)) return;
      this.expect(child);
      child.process.kill('SIGKILL');
      throw error;
    }
    this.starts += 1;
  }

  private expect(child: Child): void {
    this.expected.add(child);
  }

  async kill9(slot: number): Promise<void> {
    const child = this.children.get(slot);
    if (!child || child.hasExited()) return;
    this.expect(child);
    child.process.kill('SIGKILL');
    await child.exited;
    this.kills += 1;
  }

  /** Graceful stop (SIGTERM: drain, commit, leave the group). */
  async stop(slot: number): Promise<void> {
    const child = this.children.get(slot);
    if (!child || child.hasExited()) return;
    this.expect(child);
    const code = await stopChild(child, 30_000);
    if (code !== 0) this.log(`    slot ${slot} stopped with exit code ${code}`);
    this.stops += 1;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.children.keys()].map((slot) => this.stop(slot)));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function randomBetween(min: number, max: number): number {
  return min + Math.random() * (max - min);
}

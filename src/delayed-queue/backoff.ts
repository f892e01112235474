import type { BackoffConfig } from '../namespaces/types';

/**
 * Delay before retry number `attempt` (1 = the first retry): exponential, capped at maxMs, with a
 * `jitter` fraction of it randomised so that records failing together do not retry together.
 * jitter 0 → exact; jitter 1 → uniform in [0, delay] ("full jitter").
 */
export function backoffDelay(attempt: number, config: BackoffConfig, random: () => number = Math.random): number {
  const exponential = config.initialMs * Math.pow(config.multiplier, Math.max(0, attempt - 1));
  const capped = Math.min(config.maxMs, exponential);
  const jittered = capped * (1 - config.jitter * random());
  return Math.max(0, Math.round(jittered));
}

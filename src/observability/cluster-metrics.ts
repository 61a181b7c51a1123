import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * One scrape, the whole instance. The worker that accepts a scrape asks the primary, which collects every
 * worker's registry (prom-client's cluster protocol) and sums them; per-process metrics keep their `worker` label
 * and so stay apart. Without this, a scrape would see whichever worker answered, and counters would jump between
 * unrelated series.
 */
const ASK = 'claimgate:metrics-request';
const ANSWER = 'claimgate:metrics-answer';
const TIMEOUT_MS = 5000;

interface Ask {
  type: typeof ASK;
  id: number;
}
interface Answer {
  type: typeof ANSWER;
  id: number;
  body?: string;
  error?: string;
}

/** In the primary: answers the workers' requests with the sum over all workers. */
export function servePrimaryMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: Partial<Ask>) => {
    if (message?.type !== ASK || typeof message.id !== 'number') return;
    const id = message.id;
    aggregator.clusterMetrics().then(
      (body) => worker.send({ type: ANSWER, id, body } satisfies Answer),
      (e: unknown) => worker.send({ type: ANSWER, id, error: (e as Error).message } satisfies Answer),
    );
  });
}

/**
 * In a worker, once its gateway exists: lets the primary collect this worker's registry. Every worker must join
 * before the first scrape, whichever worker receives it.
 */
export function joinClusterMetrics(registry: Registry): void {
  // Constructing an AggregatorRegistry in a worker installs prom-client's answering listener.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

/** In a worker: the scrape source that asks the primary for the instance-wide document. */
export function workerMetricsSource(): () => Promise<string> {
  let next = 0;
  const pending = new Map<number, { resolve(body: string): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  process.on('message', (message: Partial<Answer>) => {
    if (message?.type !== ANSWER || typeof message.id !== 'number') return;
    const p = pending.get(message.id);
    if (!p) return;
    pending.delete(message.id);
    clearTimeout(p.timer);
    if (typeof message.body === 'string') p.resolve(message.body);
    else p.reject(new Error(`the primary could not collect the workers' metrics: ${message.error ?? 'no answer'}`));
  });
  return () => {
    const id = next++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the primary did not answer the metrics request in time'));
      }, TIMEOUT_MS);
      pending.set(id, { resolve, reject, timer });
      process.send?.({ type: ASK, id } satisfies Ask);
    });
  };
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}
export function summarize(samples: (number | undefined)[]): Summary;
export function median(xs: number[]): number;
export function fmt(x: number | undefined, digits?: number): string;
export function closedLoop(opts: { total: number; concurrency: number; op: (i: number) => Promise<unknown> }): Promise<Summary & { perSecond: number; failures: number }>;
export function mustOk(res: Response): Promise<Response>;

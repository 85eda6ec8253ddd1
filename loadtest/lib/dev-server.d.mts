export const ROOT: string;
export const QUIET_ENV: Record<string, string>;
export function freePort(): Promise<number>;
export function migrate(opts: { config?: string; persistTo: string; database?: string }): Promise<void>;
export function d1Query(opts: { config?: string; persistTo: string; database?: string; sql: string }): Promise<any[]>;
export interface DevServer {
  url: string;
  /** wrangler's process id (the group leader of its workerd children). */
  pid: number;
  /** The Worker's V8 inspector (Chrome DevTools Protocol), for CPU profiles. */
  inspectorPort: number;
  output(): string;
  /** An admin key, created in the server's D1 on first call. */
  adminKey(): Promise<string>;
  /** `Authorization: Bearer <adminKey()>`. */
  adminHeaders(): Promise<Record<string, string>>;
  kill(): void;
  stop(): Promise<void>;
}
export function startDevServer(opts?: { config?: string; persistTo: string; vars?: Record<string, string>; logLevel?: string; port?: number }): Promise<DevServer>;

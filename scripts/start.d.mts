export const DEFAULT_PORT: number;
export function startPort(argv: string[], env: Record<string, string | undefined>): number;

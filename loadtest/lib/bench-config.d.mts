export const indexBindings: (n?: number) => string[];
export function writeBenchConfig(opts?: { indexDatabases?: number; rules?: string | null }): string;

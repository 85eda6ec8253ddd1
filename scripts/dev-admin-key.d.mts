export const DEV_ADMIN_KEY_FILE: string;
export function ensureDevAdminKey(opts?: { file?: string; persistTo?: string; config?: string }): Promise<{ key: string; created: boolean }>;

CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`role` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`secret_hash` text NOT NULL,
	`created_at` text NOT NULL,
	`revoked_at` text,
	CONSTRAINT "api_keys_role" CHECK("api_keys"."role" IN ('admin', 'client'))
);
--> statement-breakpoint
CREATE INDEX `api_keys_active_role` ON `api_keys` (`role`,`revoked_at`);
CREATE TABLE `live_members` (
	`query_key` text NOT NULL,
	`path` text NOT NULL,
	PRIMARY KEY(`query_key`, `path`)
);
--> statement-breakpoint
CREATE INDEX `live_members_path` ON `live_members` (`path`);--> statement-breakpoint
ALTER TABLE `live_queries` ADD `query` text DEFAULT 'null' NOT NULL;
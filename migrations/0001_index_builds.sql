CREATE TABLE `index_builds` (
	`index_id` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`cursor_path` text DEFAULT '' NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
DROP INDEX `documents_group`;--> statement-breakpoint
CREATE INDEX `documents_group` ON `documents` (`collection_id`,`path`);
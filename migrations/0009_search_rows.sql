CREATE TABLE `search_rows` (
	`id` integer PRIMARY KEY NOT NULL,
	`index_id` text NOT NULL,
	`path` text NOT NULL,
	`seq` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `search_rows_path` ON `search_rows` (`index_id`,`path`);
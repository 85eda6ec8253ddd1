CREATE TABLE `live_queries` (
	`query_key` text PRIMARY KEY NOT NULL,
	`collection_id` text NOT NULL,
	`registered_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `live_queries_collection` ON `live_queries` (`collection_id`);
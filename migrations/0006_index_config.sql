CREATE TABLE `index_config` (
	`id` integer PRIMARY KEY NOT NULL,
	`hash` text NOT NULL,
	`generation` integer NOT NULL,
	`updated_at` text NOT NULL,
	`current` integer DEFAULT 1 NOT NULL,
	CONSTRAINT "index_config_current" CHECK("index_config"."current" = 1)
);

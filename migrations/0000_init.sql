CREATE TABLE `applied_ranges` (
	`shard` integer NOT NULL,
	`from_seq` integer NOT NULL,
	`to_seq` integer NOT NULL,
	PRIMARY KEY(`shard`, `from_seq`, `to_seq`)
);
--> statement-breakpoint
CREATE TABLE `composite_entries` (
	`index_id` text NOT NULL,
	`scope` text NOT NULL,
	`key` blob NOT NULL,
	`doc_path` text NOT NULL,
	`seq` integer NOT NULL,
	PRIMARY KEY(`index_id`, `scope`, `key`)
);
--> statement-breakpoint
CREATE INDEX `composite_entries_doc` ON `composite_entries` (`doc_path`);--> statement-breakpoint
CREATE TABLE `dead_letters` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`received_at` text NOT NULL,
	`shard` integer,
	`from_seq` integer,
	`to_seq` integer,
	`reason` text NOT NULL,
	`body` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `documents` (
	`path` text PRIMARY KEY NOT NULL,
	`collection_path` text NOT NULL,
	`collection_id` text NOT NULL,
	`doc_id` text NOT NULL,
	`data` text NOT NULL,
	`version` integer NOT NULL,
	`create_time` text NOT NULL,
	`update_time` text NOT NULL,
	`shard` integer NOT NULL,
	`seq` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `documents_collection` ON `documents` (`collection_path`,`doc_id`);--> statement-breakpoint
CREATE INDEX `documents_group` ON `documents` (`collection_id`);--> statement-breakpoint
CREATE TABLE `index_entries` (
	`collection_path` text NOT NULL,
	`collection_id` text NOT NULL,
	`field` text NOT NULL,
	`kind` text NOT NULL,
	`value` blob NOT NULL,
	`doc_key` blob NOT NULL,
	`doc_path` text NOT NULL,
	`seq` integer NOT NULL,
	PRIMARY KEY(`doc_path`, `field`, `kind`, `value`)
);
--> statement-breakpoint
CREATE INDEX `index_entries_collection` ON `index_entries` (`collection_path`,`field`,`kind`,`value`,`doc_key`);--> statement-breakpoint
CREATE INDEX `index_entries_group` ON `index_entries` (`collection_id`,`field`,`kind`,`value`,`doc_key`);--> statement-breakpoint
CREATE TABLE `tombstones` (
	`path` text PRIMARY KEY NOT NULL,
	`shard` integer NOT NULL,
	`seq` integer NOT NULL,
	`delete_time` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `watermarks` (
	`shard` integer PRIMARY KEY NOT NULL,
	`applied_seq` integer NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);

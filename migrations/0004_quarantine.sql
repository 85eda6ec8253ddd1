CREATE TABLE `quarantined` (
	`shard` integer NOT NULL,
	`seq` integer NOT NULL,
	`path` text NOT NULL,
	`reason` text NOT NULL,
	`attempts` integer NOT NULL,
	`at` text NOT NULL,
	PRIMARY KEY(`shard`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `quarantined_path` ON `quarantined` (`shard`,`path`);
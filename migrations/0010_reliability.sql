ALTER TABLE `dead_letters` ADD `replayed_at` text;--> statement-breakpoint
CREATE INDEX `tombstones_delete_time` ON `tombstones` (`delete_time`);
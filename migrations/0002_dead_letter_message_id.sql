ALTER TABLE `dead_letters` ADD `message_id` text;--> statement-breakpoint
CREATE UNIQUE INDEX `dead_letters_message_id_unique` ON `dead_letters` (`message_id`);
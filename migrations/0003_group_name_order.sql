-- Custom migration (drizzle-kit cannot express expression indexes):
-- collection-group queries order by document name segment by segment,
-- computed as replace(path, '/', char(1)) in engine/query/sql.ts.
CREATE INDEX `documents_group_name` ON `documents` (`collection_id`, replace(`path`, '/', char(1)));

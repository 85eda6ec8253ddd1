import { defineConfig } from "drizzle-kit";

// drizzle-kit reads the schema and writes SQL migrations into migrations/;
// wrangler applies them (`npm run db:migrate`, and the tests' setup file).
export default defineConfig({
  dialect: "sqlite",
  schema: "./engine/index/schema.ts",
  out: "./migrations",
});

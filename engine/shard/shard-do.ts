import { DurableObject } from "cloudflare:workers";
export class ShardDO extends DurableObject<Env> {}

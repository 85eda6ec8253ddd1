import { consumerHooks } from "../../engine/pipeline/consumer";

/** Holds every queue batch (the consumer falls behind) until the returned function is called. */
export function holdConsumer(): () => void {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  consumerHooks.beforeBatch = () => gate;
  return () => {
    consumerHooks.beforeBatch = null;
    release();
  };
}

/**
 * A config file that names plugin classes by value: workers import this file again, so the
 * classes reach them (a class given to `run()` in code would not).
 *
 *     bunicorn app.ts -c examples/plugins/plugins.config.ts --access-logfile -
 */
import { defineConfig } from "bunicorn";
import { StampingWorker } from "./custom-worker.ts";
import { JsonLinesLogger } from "./json-logger.ts";

export default defineConfig({
  worker_class: StampingWorker,
  logger_class: JsonLinesLogger,
});

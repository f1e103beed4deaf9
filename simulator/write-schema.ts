// Writes the published scenario JSON Schema (npm run schema); a spec checks the file matches the code.
import { writeFile } from 'node:fs/promises';
import { scenarioJsonSchema, SCENARIO_SCHEMA_FILE } from './scenario.js';

await writeFile(SCENARIO_SCHEMA_FILE, `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
console.log(`wrote ${SCENARIO_SCHEMA_FILE}`);

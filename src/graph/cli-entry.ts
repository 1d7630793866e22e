// `npm run graph` / `npm run graph:check`: regenerate visualizations/, or fail when it is stale.
// Runs from source through tsx, so it works before `npm run build` and while dist/ is stale.
import { parseArgs } from "node:util";
import { DIAGRAM_FORMATS, type DiagramFormat } from "./diagrams.js";
import {
  checkDiagrams,
  DEFAULT_DIAGRAM_DIR,
  describeStaleDiagrams,
  writeDiagrams,
} from "./write-diagrams.js";

const USAGE =
  "usage: node --import tsx src/graph/cli-entry.ts [--check] [--format mermaid|dot|svg|all] [--out dir]";

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      check: { type: "boolean", default: false },
      format: { type: "string", default: "all" },
      out: { type: "string", default: DEFAULT_DIAGRAM_DIR },
    },
  });
  const outDir = values.out;
  if (values.check) {
    const check = await checkDiagrams(outDir);
    if (!check.ok) {
      console.error(describeStaleDiagrams(check, outDir));
      return 1;
    }
    console.log(`hangar graph: the diagrams in ${outDir}/ are up to date.`);
    return 0;
  }
  const format = values.format as DiagramFormat;
  if (!DIAGRAM_FORMATS.includes(format)) {
    console.error(
      `hangar graph: unknown --format '${values.format}'. Use one of: ${DIAGRAM_FORMATS.join(", ")}.`,
    );
    console.error(USAGE);
    return 2;
  }
  const written = await writeDiagrams({ format, outDir });
  for (const file of written) console.log(`wrote ${file}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    console.error(USAGE);
    process.exitCode = 1;
  },
);

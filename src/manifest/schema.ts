// The zod schema of plugin.json (SPEC §1) and the readable error text it produces.
// Only the one function: semver's index loads its whole tree (48 files) at start-up. zod/mini rather than zod's
// classic API: the same checks and messages in a twentieth of the code (the CLI's bundle parses it at every start).
import semverValid from "semver/functions/valid.js";
import * as z from "zod/mini";
import { didYouMean, nearMiss } from "./near-miss.js";
import { englishErrors } from "./zod-messages.js";

/** The pattern every plugin id matches: lowercase letters, digits and dashes, 1–64 characters. */
export const PLUGIN_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** File extensions an entry module may have; hangar's loader (src/loader) transforms the TypeScript ones on import. */
export const ENTRY_EXTENSIONS = [".ts", ".js", ".mjs", ".cjs", ".mts", ".cts"] as const;

const idRule = "lowercase letters, digits and dashes, starting with a letter or digit, at most 64 characters";

const pluginId = z.string({ error: "must be a string" }).check(
  z.regex(PLUGIN_ID_PATTERN, {
    error: (issue) => `${JSON.stringify(issue.input)} is not a valid id: use ${idRule}`,
  }),
);

const timeoutMs = z
  .number({ error: "must be a number of milliseconds" })
  .check(
    z.int({ error: "must be a whole number of milliseconds" }),
    z.positive({ error: "must be greater than 0" }),
  );

const entryModule = z
  .string({ error: "must be a string: the entry module's path relative to the plugin folder" })
  .check(
    z.minLength(1, {
      error: "must not be empty: give the entry module's path relative to the plugin folder",
    }),
    z.refine((path: string) => ENTRY_EXTENSIONS.some((extension) => path.endsWith(extension)), {
      error: (issue) =>
        `${JSON.stringify(issue.input)} has an extension hangar cannot load: use one of ${ENTRY_EXTENSIONS.join(" ")}`,
    }),
  );

const BACKGROUND_KEYS = [
  "entryModule",
  "startTimeoutMs",
  "stopTimeoutMs",
  "resumeTimeoutMs",
  "loadTimeoutMs",
  "restart",
  "isolation",
  "memoryLimitMb",
] as const;
/** The top-level keys hangar reads; any other key is kept for the rest of the shell (a `ui` section). */
export const MANIFEST_KEYS = ["id", "version", "name", "background", "dependsOn"] as const;
/** `background.restart` (SPEC §11): every field optional; hangar's defaults fill the rest. */
const restartPolicy = z.strictObject(
  {
    policy: z.optional(z.enum(["on-failure", "never"], { error: 'must be "on-failure" or "never"' })),
    maxRestarts: z.optional(
      z
        .number({ error: "must be a number of restarts" })
        .check(z.int({ error: "must be a whole number" }), z.minimum(0, { error: "must be 0 or more" })),
    ),
    windowMs: z.optional(timeoutMs),
    backoffMs: z.optional(
      z
        .number({ error: "must be a number of milliseconds" })
        .check(
          z.int({ error: "must be a whole number of milliseconds" }),
          z.minimum(0, { error: "must be 0 or more" }),
        ),
    ),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "must be an object") },
);

// `background` is strict, unlike the top level: it is hangar's own section, and a misspelt
// `startTimeoutMS` silently ignored would be worse than an error that names it.
const background = z.strictObject(
  {
    entryModule,
    startTimeoutMs: z.optional(timeoutMs),
    stopTimeoutMs: z.optional(timeoutMs),
    resumeTimeoutMs: z.optional(timeoutMs),
    loadTimeoutMs: z.optional(timeoutMs),
    restart: z.optional(restartPolicy),
    isolation: z.optional(
      z.enum(["none", "worker"], {
        error: 'must be "none" (in the shell\'s thread) or "worker" (its own thread)',
      }),
    ),
    memoryLimitMb: z.optional(
      z
        .number({ error: "must be a number of megabytes" })
        .check(
          z.int({ error: "must be a whole number of megabytes" }),
          z.positive({ error: "must be greater than 0" }),
        ),
    ),
  },
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((key) => `"${key}"`).join(", ")}.` +
          issue.keys.map((key) => didYouMean(key, BACKGROUND_KEYS)).join("") +
          ` The background section takes ${BACKGROUND_KEYS.join(", ")}.`
        : "must be an object",
  },
);

/**
 * plugin.json as zod sees it. Unknown top-level keys (a `ui` section, say) are kept, since other parts of
 * a desktop shell read them.
 */
const manifestShape = z.looseObject({
  id: pluginId,
  version: z.string({ error: "must be a string" }).check(
    z.refine((version: string) => semverValid(version) !== null, {
      error: (issue) => `${JSON.stringify(issue.input)} is not a semver version such as "1.0.0"`,
    }),
  ),
  name: z.optional(z.string({ error: "must be a string" })),
  background: z.optional(background),
  dependsOn: z.optional(z.array(pluginId, { error: "must be an array of plugin ids" })),
});

const schema = manifestShape.check(
  z.superRefine((manifest: z.infer<typeof manifestShape>, context) => {
    manifest.dependsOn?.forEach((dependency, index) => {
      if (dependency === manifest.id) {
        context.addIssue({
          code: "custom",
          path: ["dependsOn", index],
          message: `a plugin cannot depend on itself: remove "${dependency}"`,
        });
      }
    });
  }),
);

/** plugin.json checked against the schema; zod's own messages (a missing `id`, …) in English. */
export const pluginManifestSchema = {
  safeParse: (data: unknown) => schema.safeParse(data, { error: englishErrors }),
};

/** A validated plugin.json. Unknown top-level keys are kept as they were. */
export type PluginManifest = z.infer<typeof schema>;

/** The background section of a manifest: the entry module and optional per-plugin timeouts. */
export type PluginBackgroundManifest = NonNullable<PluginManifest["background"]>;

/** The zod issues of a failed parse as readable lines, prefixed with the file they came from. */
export function describeManifestIssues(file: string, error: z.core.$ZodError): string {
  return `${file}:\n${z.prettifyError(error)}`;
}

/**
 * Warnings for a valid manifest: a top-level key one edit away from a key hangar reads (`dependOn`,
 * `backgroud`) is kept like any unknown key, so it would otherwise be ignored without a word.
 */
export function manifestWarnings(manifest: PluginManifest): string[] {
  const warnings: string[] = [];
  for (const key of Object.keys(manifest)) {
    const match = nearMiss(key, MANIFEST_KEYS);
    if (match !== undefined && !(match in manifest)) {
      warnings.push(
        `plugin.json has a key "${key}" that hangar does not read. Did you mean "${match}"? Rename it, or hangar ignores it.`,
      );
    }
  }
  return warnings;
}

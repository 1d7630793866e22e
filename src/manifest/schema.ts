// The zod schema of plugin.json (SPEC §1) and the readable error text it produces.
// Only the one function: semver's index loads its whole tree (48 files) at start-up.
import semverValid from "semver/functions/valid.js";
import { z } from "zod";
import { didYouMean, nearMiss } from "./near-miss.js";

/** The pattern every plugin id matches: lowercase letters, digits and dashes, 1–64 characters. */
export const PLUGIN_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** File extensions an entry module may have; hangar's loader (src/loader) transforms the TypeScript ones on import. */
export const ENTRY_EXTENSIONS = [".ts", ".js", ".mjs", ".cjs", ".mts", ".cts"] as const;

const idRule = "lowercase letters, digits and dashes, starting with a letter or digit, at most 64 characters";

const pluginId = z.string({ error: "must be a string" }).regex(PLUGIN_ID_PATTERN, {
  error: (issue) => `${JSON.stringify(issue.input)} is not a valid id: use ${idRule}`,
});

const timeoutMs = z
  .number({ error: "must be a number of milliseconds" })
  .int({ error: "must be a whole number of milliseconds" })
  .positive({ error: "must be greater than 0" });

const entryModule = z
  .string({ error: "must be a string: the entry module's path relative to the plugin folder" })
  .min(1, { error: "must not be empty: give the entry module's path relative to the plugin folder" })
  .refine((path) => ENTRY_EXTENSIONS.some((extension) => path.endsWith(extension)), {
    error: (issue) =>
      `${JSON.stringify(issue.input)} has an extension hangar cannot load: use one of ${ENTRY_EXTENSIONS.join(" ")}`,
  });

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
    policy: z.enum(["on-failure", "never"], { error: 'must be "on-failure" or "never"' }).optional(),
    maxRestarts: z
      .number({ error: "must be a number of restarts" })
      .int({ error: "must be a whole number" })
      .min(0, { error: "must be 0 or more" })
      .optional(),
    windowMs: timeoutMs.optional(),
    backoffMs: z
      .number({ error: "must be a number of milliseconds" })
      .int({ error: "must be a whole number of milliseconds" })
      .min(0, { error: "must be 0 or more" })
      .optional(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? undefined : "must be an object") },
);

// `background` is strict, unlike the top level: it is hangar's own section, and a misspelt
// `startTimeoutMS` silently ignored would be worse than an error that names it.
const background = z.strictObject(
  {
    entryModule,
    startTimeoutMs: timeoutMs.optional(),
    stopTimeoutMs: timeoutMs.optional(),
    resumeTimeoutMs: timeoutMs.optional(),
    loadTimeoutMs: timeoutMs.optional(),
    restart: restartPolicy.optional(),
    isolation: z
      .enum(["none", "worker"], {
        error: 'must be "none" (in the shell\'s thread) or "worker" (its own thread)',
      })
      .optional(),
    memoryLimitMb: z
      .number({ error: "must be a number of megabytes" })
      .int({ error: "must be a whole number of megabytes" })
      .positive({ error: "must be greater than 0" })
      .optional(),
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
export const pluginManifestSchema = z
  .looseObject({
    id: pluginId,
    version: z.string({ error: "must be a string" }).refine((version) => semverValid(version) !== null, {
      error: (issue) => `${JSON.stringify(issue.input)} is not a semver version such as "1.0.0"`,
    }),
    name: z.string({ error: "must be a string" }).optional(),
    background: background.optional(),
    dependsOn: z.array(pluginId, { error: "must be an array of plugin ids" }).optional(),
  })
  .superRefine((manifest, context) => {
    manifest.dependsOn?.forEach((dependency, index) => {
      if (dependency === manifest.id) {
        context.addIssue({
          code: "custom",
          path: ["dependsOn", index],
          message: `a plugin cannot depend on itself: remove "${dependency}"`,
        });
      }
    });
  });

/** A validated plugin.json. Unknown top-level keys are kept as they were. */
export type PluginManifest = z.infer<typeof pluginManifestSchema>;

/** The background section of a manifest: the entry module and optional per-plugin timeouts. */
export type PluginBackgroundManifest = NonNullable<PluginManifest["background"]>;

/** The zod issues of a failed parse as readable lines, prefixed with the file they came from. */
export function describeManifestIssues(file: string, error: z.ZodError): string {
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

// zod's English messages for the checks hangar leaves to zod (a missing field, a number out of range), passed
// per parse: zod/mini carries no locale of its own, and setting zod's global one would override a host app's.
import type { core } from "zod/mini";
import en from "zod/v4/locales/en.js";

/** The error map of zod's English locale, for `schema.safeParse(data, { error: englishErrors })`. */
export const englishErrors: core.$ZodErrorMap = en().localeError;

// Electron's API types for this example, from `electron-types` (Electron's own electron.d.ts, republished
// without the binary's installer, whose helpers need Node ≥ 22.12). It declares the module "electron".
// An app of your own installs `electron` itself and needs no such file.
/// <reference types="electron-types" />

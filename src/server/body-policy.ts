// What request bodies the shell's server accepts: a size ceiling for every request, declared lengths only,
// and JSON-only bodies for the shell's own state-changing routes (docs/server.md, "Request bodies").
import express, { type Request, type RequestHandler, type Response } from "express";
import type { Guard } from "./app.js";

/** Default ceiling on any request body, in bytes (1 MiB). `server.bodyLimit` changes it. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Ceiling on the JSON body of a state-changing shell route: they take small commands, never uploads. */
export const SHELL_JSON_LIMIT = 64 * 1024;

/** True when the request announces a body (RFC 9112 §6.3: Transfer-Encoding, or a non-zero Content-Length). */
function announcesBody(req: Request): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = req.headers["content-length"];
  return length !== undefined && length !== "0";
}

/**
 * Answers `status` with a JSON body without reading the request body. When one was announced, the connection
 * is closed after the answer: otherwise Node would read (and discard) the whole unwanted body to reuse it.
 */
export function refuse(req: Request, res: Response, status: number, body: object): void {
  if (announcesBody(req) && !req.complete) res.setHeader("Connection", "close");
  res.status(status).json(body);
}

/**
 * A guard enforcing `limit` bytes on every request body before any route sees it: 413 when the declared
 * Content-Length is larger, 411 when a body is sent chunked (no declared length), because a chunked body's size
 * is known only after it has been read, by which time a plugin's own body parser may have buffered it.
 */
export function createBodyLimit(limit: number): Guard {
  return (req, res) => {
    if (req.headers["transfer-encoding"] !== undefined) {
      refuse(req, res, 411, {
        success: false,
        error:
          `${req.method} ${req.path} sent a chunked body (Transfer-Encoding) without a Content-Length. This shell ` +
          "accepts only bodies of declared length, so it can enforce its size limit: send the body with a " +
          "Content-Length header (fetch does this for strings, Blobs and FormData).",
      });
      return false;
    }
    const length = Number(req.headers["content-length"] ?? 0);
    if (length > limit) {
      refuse(req, res, 413, {
        success: false,
        error:
          `${req.method} ${req.path} sent a ${length}-byte body; this shell accepts at most ${limit} bytes. ` +
          "Send less, or raise server.bodyLimit when creating the shell.",
      });
      return false;
    }
    return true;
  };
}

/** True for `application/json` and `application/<x>+json`, with or without parameters such as charset. */
function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * The body handling every state-changing shell route (POST, PUT, PATCH, DELETE under `/api/_shell`) must be
 * mounted behind: 415 unless the request says `Content-Type: application/json`, then `express.json` with a
 * {@link SHELL_JSON_LIMIT} ceiling (413 above it, 400 for malformed JSON). Requiring JSON keeps out the
 * `text/plain` and form posts a browser sends cross-site without a CORS preflight.
 */
export function shellJsonBody(limit: number = SHELL_JSON_LIMIT): RequestHandler[] {
  const requireJson: RequestHandler = (req, res, next) => {
    if (isJsonType(req.headers["content-type"])) {
      next();
      return;
    }
    refuse(req, res, 415, {
      success: false,
      error:
        `${req.method} ${req.path} takes a JSON body, but the request's Content-Type is ` +
        `${req.headers["content-type"] === undefined ? "missing" : `'${req.headers["content-type"]}'`}. ` +
        "Send 'Content-Type: application/json' and a JSON body ({} when there is nothing to say).",
    });
  };
  return [
    requireJson,
    express.json({ limit, type: (req) => isJsonType(req.headers["content-type"]), strict: true }),
  ];
}

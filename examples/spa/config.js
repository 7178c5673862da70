// The page's settings, read from its query string: ?api=<API base URL>&mode=cookie|token.

export const DEFAULT_API = "http://localhost:8888";
export const MODES = ["cookie", "token"];

/**
 * Reads the API base URL and the session mode from `location` (the page's URL).
 *
 * `api`: an http(s) URL (default DEFAULT_API), kept without its query and trailing slash.
 * `mode`: "cookie" (an HttpOnly cookie the page never sees; the API must be on this page's
 * site) or "token" (a bearer token kept in this page's memory; works across sites). Default:
 * cookie when the API has this page's host name, else token. A bad value is reported in
 * `problems` and replaced by its default.
 *
 * @param {Location} location
 * @returns {{api: string, apiOrigin: string, mode: string, problems: string[]}}
 */
export function readConfig(location) {
  const query = new URLSearchParams(location.search);
  const problems = [];
  let api = new URL(DEFAULT_API);
  const askedApi = query.get("api");
  if (askedApi !== null) {
    const parsed = URL.canParse(askedApi) ? new URL(askedApi) : null;
    if (parsed !== null && (parsed.protocol === "http:" || parsed.protocol === "https:")) {
      api = parsed;
    } else {
      problems.push(`api=${askedApi} is not an http(s) URL: using ${DEFAULT_API}`);
    }
  }
  const defaultMode = api.hostname === location.hostname ? "cookie" : "token";
  let mode = query.get("mode") ?? defaultMode;
  if (!MODES.includes(mode)) {
    problems.push(`mode=${mode} is neither cookie nor token: using ${defaultMode}`);
    mode = defaultMode;
  }
  const base = api.origin + api.pathname.replace(/\/+$/, "");
  return { api: base, apiOrigin: api.origin, mode, problems };
}

/**
 * This page's URL in session `mode`, its other settings kept.
 * @param {Location} location
 * @param {string} mode
 * @returns {string}
 */
export function urlInMode(location, mode) {
  const url = new URL(location.href);
  url.searchParams.set("mode", mode);
  return url.href;
}

// Puts what the API said on the page, as text only: nothing a server sends is parsed as HTML.

const LOG_LENGTH = 8;
const PREVIEW_DIGITS = 24;
let requestsLogged = 0;

/** The element showing the field `name` (its data-field attribute). */
function field(name) {
  return document.querySelector(`[data-field="${name}"]`);
}

function put(name, value) {
  field(name).textContent = value;
}

/** The mode indicator and where the page and the API are; `problems` from readConfig. */
export function showConfig(config, pageOrigin) {
  const mode = field("mode");
  mode.dataset.mode = config.mode;
  mode.textContent = config.mode === "cookie"
    ? "Cookie mode: the session is an HttpOnly cookie that this page cannot read (the API must be on this page's site)."
    : "Token mode: the session is a bearer token held in this page's memory, lost on reload (works across sites).";
  put("api-origin", config.api);
  put("page-origin", pageOrigin);
  const problem = document.getElementById("config-problem");
  problem.textContent = config.problems.join(" ");
  problem.hidden = config.problems.length === 0;
}

/**
 * The API refused to hold this page's session in a cookie (`reason`, the answer's
 * errors.session: the page is on another site than the API, whose cookie the browser would
 * drop): say so, with a link to this page in token mode (`tokenModeUrl`).
 */
export function showModeAdvice(reason, tokenModeUrl) {
  put("mode-advice", `The API refused cookie mode (session: ${reason}).`);
  const link = field("token-mode-url");
  link.href = tokenModeUrl;
  link.textContent = "Open this page in token mode.";
  document.getElementById("mode-advice").hidden = false;
}

/** The one-line status: what was done, or what is being done (`busy`). */
export function showStatus(text, { busy = false } = {}) {
  const status = field("status");
  status.textContent = text;
  status.classList.toggle("busy", busy);
}

/**
 * The user as the API described it; `logined` false shows nobody. `avatarSrc` is the URL of
 * the user's avatar (its `avatar_url` resolved against the API's base URL), null for none.
 */
export function showUser(user, logined = user !== null, avatarSrc = null) {
  document.getElementById("user").hidden = false;
  put("logined", logined ? "yes" : "no");
  put("username", user?.username ?? "");
  put("nickname", user?.nickname ?? "");
  put("gender", user?.gender ?? "");
  put("create-time", user?.create_time ?? "");
  showEmail(logined ? user : null);
  const avatar = field("avatar");
  if (avatarSrc === null || !logined) {
    avatar.removeAttribute("src");
    avatar.hidden = true;
  } else {
    // An attribute set by script, never markup: the URL cannot become HTML.
    avatar.src = avatarSrc;
    avatar.hidden = false;
  }
  put("avatar-none", logined ? "no avatar" : "");
  field("avatar-none").hidden = !avatar.hidden;
  if (!logined) showSessions(null);
}

/**
 * The user's email address and whether it is verified, with the button that mails the
 * verification link again shown only for an unverified address; null shows nothing.
 */
function showEmail(user) {
  const email = user?.email ?? null;
  put("email", user === null ? "" : email ?? "none");
  put("email-verified", user === null || email === null ? "" : user.email_verified ? "yes" : "no");
  document.getElementById("email-send-again").hidden = email === null || user.email_verified;
}

/**
 * The user's sessions (GET /account/sessions' `sessions`, newest first), one row each with an
 * "End" button carrying the session's id (`data-session-id`, and `data-current` for this
 * page's own); null hides the table.
 */
export function showSessions(sessions) {
  const table = document.getElementById("sessions-table");
  table.hidden = sessions === null;
  field("sessions").replaceChildren(...(sessions ?? []).map((session) => {
    const row = document.createElement("tr");
    row.dataset.sessionId = session.id;
    const cells = [
      session.current ? "this device" : "",
      session.created_at,
      session.last_used_at,
      session.client ?? "unknown",
      session.user_agent ?? "unknown",
    ];
    row.append(...cells.map((text) => {
      const cell = document.createElement("td");
      cell.textContent = text;
      return cell;
    }));
    const end = document.createElement("button");
    end.type = "button";
    end.dataset.sessionId = session.id;
    if (session.current) end.dataset.current = "true";
    end.textContent = session.current ? "End (log out)" : "End";
    const action = document.createElement("td");
    action.append(end);
    row.append(action);
    return row;
  }));
}

/** A factorial answer: its digit count, how long it took and a glimpse of its digits. */
export function showFact(answer) {
  const { n, fact, digits, cached } = answer.body;
  document.getElementById("fact-result").hidden = false;
  put("fact-n", String(n));
  put("fact-digits", digits.toLocaleString("en"));
  put("fact-time", `${Math.round(answer.ms)} ms`);
  put("fact-cached", cached ? "yes" : "no");
  put("fact-preview", fact.length <= 2 * PREVIEW_DIGITS
    ? fact
    : `${fact.slice(0, PREVIEW_DIGITS)}…${fact.slice(-PREVIEW_DIGITS)}`);
}

/** Hides the last error. */
export function clearError() {
  document.getElementById("error").hidden = true;
}

/**
 * Shows an ApiError: its message, status and code, the field reasons (`errors`), the request
 * id and the retry delay, each as the header and as the body gave it. A header that page
 * scripts cannot read (absent, or not in Access-Control-Expose-Headers) shows as such.
 */
export function showError(error) {
  const answer = error.answer ?? { status: 0, body: null, requestId: null, retryAfter: null };
  const body = answer.body ?? {};
  document.getElementById("error").hidden = false;
  put("error-message", error.message);
  put("error-status", answer.status === 0
    ? "no answer"
    : `${answer.status} · code ${body.code ?? "none"}`);
  const reasons = Object.entries(body.errors ?? {}).map(([name, reason]) => `${name}: ${reason}`);
  field("error-fields").replaceChildren(...reasons.map((reason) => {
    const item = document.createElement("li");
    item.textContent = reason;
    return item;
  }));
  field("error-fields").hidden = reasons.length === 0;
  field("no-error-fields").hidden = reasons.length > 0;
  const unreadable = answer.status === 0 ? "no answer" : "not sent, or not readable by this page";
  put("request-id-header", answer.requestId ?? unreadable);
  put("request-id-body", body.request_id ?? "none");
  put("retry-after-header", answer.retryAfter === null ? unreadable : `${answer.retryAfter} s`);
  put("retry-after-body", body.retry_after === undefined ? "none" : `${body.retry_after} s`);
}

/** One line per request, newest first: method, path, status, time and request id. */
export function logAnswer(answer) {
  const log = document.getElementById("log");
  const item = document.createElement("li");
  item.value = ++requestsLogged;
  const status = answer.status === 0 ? "no answer" : String(answer.status);
  const id = answer.requestId === null ? "" : ` · ${answer.requestId}`;
  item.textContent = `${answer.method} ${answer.path} → ${status} · ${Math.round(answer.ms)} ms${id}`;
  item.classList.toggle("failed", answer.status === 0 || answer.status >= 400);
  log.prepend(item);
  while (log.children.length > LOG_LENGTH) log.lastElementChild.remove();
}

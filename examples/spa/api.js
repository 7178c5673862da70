// The factsvc client: one fetch per call, the session held the way the mode says, and every
// answer read whole (status, body, request id, retry delay) for the page to show.

/**
 * What the page learns from one request: `status` (0 when no answer reached the page), the
 * parsed JSON `body` (null if none), the `X-Request-ID` and `Retry-After` headers as page
 * scripts can read them (null when absent or not exposed by CORS), and `ms`, the time from
 * sending to the whole body.
 * @typedef {{method: string, path: string, status: number, body: any, requestId: string|null,
 *            retryAfter: string|null, ms: number}} Answer
 */

/** A request that failed: an error answer, or no answer at all (`answer.status` 0). */
export class ApiError extends Error {
  /** @param {Answer} answer @param {string} message */
  constructor(answer, message) {
    super(message);
    this.name = "ApiError";
    this.answer = answer;
  }
}

export class Api {
  #base;
  #mode;
  #observe;
  // The bearer token in token mode: in this object only, never in the DOM or any storage, so
  // it is gone when the page is closed or reloaded.
  #token = null;

  /**
   * @param {string} base the API's base URL, without a trailing slash
   * @param {"cookie"|"token"} mode how the session is held
   * @param {(answer: Answer) => void} observe called with every answer, failures included,
   *   without its body (which may hold a token)
   */
  constructor(base, mode, observe) {
    this.#base = base;
    this.#mode = mode;
    this.#observe = observe;
  }

  /**
   * POST /register: `{user}`. Registering does not log in. With an `email`, the API mails a
   * verification link to it after answering (`user.email_verified` false until it is opened).
   */
  async register(username, password, nickname, email) {
    const body = { username, password };
    if (nickname) body.nickname = nickname;
    if (email) body.email = email;
    return (await this.#call("POST", "/register", body)).body;
  }

  /** POST /login in this page's session mode: `{user}` (a token is kept, never returned). */
  async login(username, password) {
    const answer = await this.#call("POST", "/login", { username, password, session: this.#mode });
    return this.#keepToken(answer);
  }

  /** GET /isLogined: `{logined, user}`. */
  async whoAmI() {
    return (await this.#call("GET", "/isLogined")).body;
  }

  /** GET /account/info: `{user}`. */
  async info() {
    return (await this.#call("GET", "/account/info")).body;
  }

  /** POST /account/edit with a new nickname: `{user}`. */
  async editNickname(nickname) {
    return (await this.#call("POST", "/account/edit", { nickname })).body;
  }

  /**
   * POST /account/edit with a new email address, or null to remove it, and the current
   * password as `old_password` (sent when given): `{user}`. Changing or removing the address
   * needs it (400 with `errors.old_password` without it, 403 when wrong); the same address
   * again needs none and changes nothing. A new or changed address is unverified, and the API
   * mails a verification link to it (and a notice to the former address, when verified).
   */
  async editEmail(email, oldPassword) {
    const body = oldPassword ? { email, old_password: oldPassword } : { email };
    return (await this.#call("POST", "/account/edit", body)).body;
  }

  /**
   * POST /account/email/verification: mails a new verification link to the user's unverified
   * address (older links stop working): `{}`, 202. 400 with `errors.email` when there is no
   * address or it is verified already; 429 when asked too often.
   */
  async sendVerification() {
    return (await this.#call("POST", "/account/email/verification", {})).body;
  }

  /**
   * POST /password/forgot with the username, or the email address when `who` holds an `@`
   * (usernames never do): `{}`, 202, whether or not an account matches. An account whose
   * address is verified gets a reset link by mail; it opens the API's page that sets a new
   * password. No session is sent: none is needed.
   */
  async forgotPassword(who) {
    const body = who.includes("@") ? { email: who } : { username: who };
    return (await this.#send("POST", "/password/forgot", {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
    })).body;
  }

  /**
   * POST /account/edit with `old_password` and the new `password`: `{user}`. Every session of
   * the user ends and this page gets a new one, the same way it held the old.
   */
  async changePassword(oldPassword, password) {
    const answer = await this.#call("POST", "/account/edit", { old_password: oldPassword, password });
    return this.#keepToken(answer);
  }

  /**
   * PUT /account/avatar with `file` (a File or Blob) as the body and its type as Content-Type:
   * `{user}`, its `avatar_url` the new avatar's. The API answers 415 for a type other than
   * PNG, JPEG or WebP (or none), 413 past its size limit, 400 with `errors.body` for bytes
   * that are not such an image.
   */
  async uploadAvatar(file) {
    return (await this.#call("PUT", "/account/avatar", undefined, file)).body;
  }

  /** DELETE /account/avatar: `{user}`, without an avatar (also when there was none). */
  async removeAvatar() {
    return (await this.#call("DELETE", "/account/avatar")).body;
  }

  /**
   * GET /account/sessions: `{sessions}`, newest first, each `{id, created_at, last_used_at,
   * client, user_agent, current}` (`id` names the session, it is not its credential).
   */
  async sessions() {
    return (await this.#call("GET", "/account/sessions")).body;
  }

  /**
   * POST /account/sessions/revoke: ends the session `id` of this user, or with `id` null every
   * session but this one. `{revoked}`, the count ended. Ending this page's own session
   * forgets its token, as logging out does.
   */
  async revokeSessions(id, { current = false } = {}) {
    const body = id === null ? { all: true } : { id };
    const answer = await this.#call("POST", "/account/sessions/revoke", body);
    if (current) this.#token = null;
    return answer.body;
  }

  /**
   * POST /account/delete with the password: `{}`. The account, its avatar and every session
   * are gone (the cookie expired); the page forgets its token.
   */
  async deleteAccount(password) {
    const answer = await this.#call("POST", "/account/delete", { password });
    this.#token = null;
    return answer.body;
  }

  /**
   * The URL of `path` (such as a user's `avatar_url`, a path from the API's root) under the
   * API's base URL; null stays null.
   */
  resolve(path) {
    if (path === null || path === undefined) return null;
    return new URL(path.startsWith("/") ? this.#base + path : path, `${this.#base}/`).href;
  }

  /** POST /logout: ends the session (and forgets the token) even when the API refuses. */
  async logout() {
    try {
      return (await this.#call("POST", "/logout")).body;
    } finally {
      this.#token = null;
    }
  }

  /**
   * GET /fact?n=N: the Answer, `body` being `{n, fact, digits, cached}`. Sent without
   * credentials or custom headers, a "simple" request in the Fetch standard's terms: the
   * browser sends no preflight, and the API needs no session to answer.
   */
  async factorial(n) {
    return this.#send("GET", `/fact?n=${encodeURIComponent(n)}`, { credentials: "omit" });
  }

  /** Sends `json` as a JSON body, or `blob` as the body with its own type (none if empty). */
  async #call(method, path, json, blob) {
    const headers = {};
    if (json !== undefined) headers["Content-Type"] = "application/json";
    if (blob !== undefined && blob.type !== "") headers["Content-Type"] = blob.type;
    if (this.#mode === "token" && this.#token !== null) {
      headers.Authorization = `Bearer ${this.#token}`;
    }
    // Cookie mode sends the cookie cross-origin (the API lists this origin in CORS_ORIGINS);
    // token mode sends none, so a cookie never stands in for the token.
    const init = { method, headers, credentials: this.#mode === "cookie" ? "include" : "omit" };
    if (json !== undefined) init.body = JSON.stringify(json);
    if (blob !== undefined) init.body = blob;
    return this.#send(method, path, init);
  }

  async #send(method, path, init) {
    const started = performance.now();
    let response;
    try {
      response = await fetch(this.#base + path, { ...init, method });
    } catch (error) {
      const answer = { method, path, status: 0, body: null, requestId: null, retryAfter: null,
        ms: performance.now() - started };
      this.#observe({ ...answer });
      throw new ApiError(answer, `${error.name}: ${error.message}. No answer reached this page: `
        + `the API is down, or the browser refused its answer because ${location.origin} is not `
        + "in the API's CORS_ORIGINS (the browser's console says which).");
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      // Not JSON (a proxy's error page): the status alone says what happened.
    }
    const answer = {
      method, path, status: response.status, body, ms: performance.now() - started,
      requestId: response.headers.get("X-Request-ID"),
      retryAfter: response.headers.get("Retry-After"),
    };
    this.#observe({ ...answer, body: null });
    if (!response.ok) {
      throw new ApiError(answer, body?.message || `HTTP ${response.status}`);
    }
    return answer;
  }

  #keepToken(answer) {
    const { token, ...rest } = answer.body;
    if (this.#mode === "token") {
      if (typeof token !== "string") {
        throw new ApiError(answer, "the answer carries no token: is the API older than session modes?");
      }
      this.#token = token;
    }
    return rest;
  }
}

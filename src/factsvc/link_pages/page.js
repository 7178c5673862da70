// The pages a mailed link opens (GET /email/verify, GET /password/reset): read the token from
// the link's fragment (#token=...), take it out of the address bar, and POST it to the page's own
// path on a button press. What the service answers is shown as text only (textContent).
"use strict";

(() => {
  const page = document.body.dataset.page;
  const outcome = document.getElementById("outcome");

  /** The token of the link's fragment (#token=...), or null; the fragment is then removed from
   * the address bar and the history entry, so that neither a bookmark nor a shared screen keeps it. */
  function takeToken() {
    const token = new URLSearchParams(window.location.hash.slice(1)).get("token");
    if (window.location.hash !== "") {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    return token === null || token === "" ? null : token;
  }

  /** Shows `message`, the field `reasons` ({field: reason}) and `advice`; `kind` styles it and
   * names it for tests (success, invalid, refused, limited, unavailable, offline, incomplete). */
  function show(kind, message, advice = "", reasons = {}) {
    outcome.hidden = false;
    outcome.dataset.outcome = kind;
    outcome.querySelector('[data-field="message"]').textContent = message;
    outcome.querySelector('[data-field="advice"]').textContent = advice;
    const list = outcome.querySelector('[data-field="reasons"]');
    const lines = Object.entries(reasons).map(([name, reason]) => {
      const item = document.createElement("li");
      item.textContent = `${name}: ${reason}`;
      return item;
    });
    list.replaceChildren(...lines);
    list.hidden = lines.length === 0;
  }

  /** POSTs `body` as JSON to this page's own path: {status, body}, body null when the answer
   * is not JSON; status 0 when no answer came. No cookie goes with it: the token suffices. */
  async function post(body) {
    try {
      const response = await fetch(window.location.pathname, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
      let answer = null;
      try {
        answer = await response.json();
      } catch {
        // Not JSON (a proxy's error page): the status alone says what happened.
      }
      return { status: response.status, body: answer };
    } catch {
      return { status: 0, body: null };
    }
  }

  /** Shows an answer that is not a success; true when the link can be tried again. */
  function showRefusal({ status, body }) {
    const message = typeof body?.message === "string" && body.message !== ""
      ? body.message
      : status === 0 ? "no answer from the service" : `HTTP ${status}`;
    const reasons = body?.errors && typeof body.errors === "object" ? body.errors : {};
    if (body?.code === 1002) {
      show("invalid", message, "The link has expired, was used already, or a newer mail "
        + "replaced it. Ask for a new mail.");
      return false;
    }
    const retryAfter = Number(body?.retry_after);
    const wait = Number.isFinite(retryAfter) && retryAfter > 0
      ? ` Try again in ${retryAfter} s.` : " Try again later.";
    if (status === 429) {
      show("limited", message, `Too many attempts from here.${wait}`);
    } else if (status === 503) {
      show("unavailable", message, `The service cannot do this just now.${wait}`);
    } else if (status === 0) {
      show("offline", message, "Check the connection and try again.");
    } else {
      const fix = Object.keys(reasons).length > 0 ? "Correct what is listed and try again." : "";
      show("refused", message, fix, reasons);
    }
    return true;
  }

  function verifyEmail(token) {
    const button = document.getElementById("verify");
    button.disabled = false;
    button.addEventListener("click", async () => {
      button.disabled = true;
      show("busy", "Verifying…");
      const answer = await post({ token });
      if (answer.status === 200) {
        show("success", "Your email address is verified.", "You may close this page.");
        button.hidden = true;
      } else {
        button.disabled = false;
        button.hidden = !showRefusal(answer);
      }
    });
  }

  function resetPassword(token) {
    const form = document.getElementById("reset");
    const button = form.querySelector("button");
    button.disabled = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const { password, confirm } = Object.fromEntries(new FormData(form));
      if (password !== confirm) {
        show("mismatch", "The two passwords differ.", "Type the same new password twice.");
        return;
      }
      button.disabled = true;
      show("busy", "Setting the new password…");
      const answer = await post({ token, password });
      if (answer.status === 200) {
        form.reset();
        form.hidden = true;
        show("success", "Your new password is set.",
          "Every session of the account has ended: log in with the new password.");
      } else {
        button.disabled = false;
        form.hidden = !showRefusal(answer);
      }
    });
  }

  const token = takeToken();
  if (token === null) {
    document.querySelectorAll("form, button").forEach((control) => { control.hidden = true; });
    show("incomplete", "This link has no token.",
      "Open the link from the mail again, whole, as it was sent.");
  } else if (page === "verify-email") {
    verifyEmail(token);
  } else if (page === "reset-password") {
    resetPassword(token);
  }
})();

// Wires the page's forms and buttons to the API client, one action at a time.

import { Api } from "./api.js";
import { readConfig, urlInMode } from "./config.js";
import * as view from "./view.js";

const config = readConfig(window.location);
const api = new Api(config.api, config.mode, view.logAnswer);
view.showConfig(config, window.location.origin);

// A connection the page's Content-Security-Policy refused (connect-src names the API that
// serve.py was started for) fails like a CORS refusal: say which it was.
document.addEventListener("securitypolicyviolation", (event) => {
  view.showStatus(`This page's Content-Security-Policy refused ${event.blockedURI} `
    + `(${event.violatedDirective}): start serve.py with --api ${config.apiOrigin}.`);
});

const controls = () => document.querySelectorAll("button, input");

/** Runs `action` (label: what it does), showing its outcome or its error; one at a time. */
async function run(label, action) {
  view.showStatus(`${label}…`, { busy: true });
  controls().forEach((control) => { control.disabled = true; });
  try {
    view.showStatus(await action());
    view.clearError();
  } catch (error) {
    view.showStatus(`${label} failed.`);
    view.showError(error);
  } finally {
    controls().forEach((control) => { control.disabled = false; });
  }
}

/** Runs `action(values)` when the form `id` is submitted, `values` being its fields. */
function onSubmit(id, label, action) {
  const form = document.getElementById(id);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    run(label, () => action(values));
  });
}

function onClick(id, label, action) {
  document.getElementById(id).addEventListener("click", () => run(label, action));
}

onSubmit("register", "Registering", async ({ username, password, nickname }) => {
  const { user } = await api.register(username, password, nickname);
  return `Registered ${user.username}. Log in next.`;
});

onSubmit("login", "Logging in", async ({ username, password }) => {
  try {
    const { user } = await api.login(username, password);
    view.showUser(user);
    return `Logged in as ${user.username}.`;
  } catch (error) {
    // A page on another site than the API asked for cookie mode: the API refuses it (400,
    // errors.session) rather than set a cookie this page's browser would drop.
    const refused = error.answer?.body?.errors?.session;
    if (config.mode === "cookie" && typeof refused === "string") {
      view.showModeAdvice(refused, urlInMode(window.location, "token"));
    }
    throw error;
  }
});

onClick("whoami", "Asking who I am", async () => {
  const { logined, user } = await api.whoAmI();
  view.showUser(user, logined);
  return logined ? `Logged in as ${user.username}.` : "Not logged in.";
});

onClick("info", "Reading the account", async () => {
  const { user } = await api.info();
  view.showUser(user);
  return `Account info of ${user.username}.`;
});

onClick("logout", "Logging out", async () => {
  await api.logout();
  view.showUser(null);
  return "Logged out.";
});

onSubmit("nickname", "Saving the nickname", async ({ nickname }) => {
  const { user } = await api.editNickname(nickname);
  view.showUser(user);
  return `Nickname is now ${user.nickname}.`;
});

onSubmit("password", "Changing the password", async ({ old_password: old, password }) => {
  const { user } = await api.changePassword(old, password);
  view.showUser(user);
  return "Password changed: every other session ended, this page has a new one.";
});

onSubmit("fact", "Computing", async ({ n }) => {
  const answer = await api.factorial(n.trim());
  view.showFact(answer);
  return `${answer.body.n}! has ${answer.body.digits} digits.`;
});

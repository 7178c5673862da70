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

/** Shows `user` (null: nobody), its avatar fetched from the API's base URL. */
function showUser(user, logined = user !== null) {
  view.showUser(user, logined, api.resolve(user?.avatar_url));
}

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

onSubmit("register", "Registering", async ({ username, password, nickname, email }) => {
  const { user } = await api.register(username, password, nickname, email.trim());
  const mailed = user.email === null ? "" : ` A verification link was mailed to ${user.email}.`;
  return `Registered ${user.username}.${mailed} Log in next.`;
});

onSubmit("forgot", "Asking for a reset link", async ({ who }) => {
  await api.forgotPassword(who.trim());
  // The API answers alike whether or not an account matches: the page cannot know either.
  return "If an account with a verified email address matches, a reset link is on its way there.";
});

onSubmit("login", "Logging in", async ({ username, password }) => {
  try {
    const { user } = await api.login(username, password);
    showUser(user);
    view.showSessions(null);
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
  showUser(user, logined);
  return logined ? `Logged in as ${user.username}.` : "Not logged in.";
});

onClick("info", "Reading the account", async () => {
  const { user } = await api.info();
  showUser(user);
  return `Account info of ${user.username}.`;
});

onClick("logout", "Logging out", async () => {
  await api.logout();
  showUser(null);
  return "Logged out.";
});

onSubmit("nickname", "Saving the nickname", async ({ nickname }) => {
  const { user } = await api.editNickname(nickname);
  showUser(user);
  return `Nickname is now ${user.nickname}.`;
});

onSubmit("email", "Saving the email address", async ({ email, old_password }) => {
  const { user } = await api.editEmail(email.trim(), old_password);
  showUser(user);
  return user.email_verified
    ? `Email address is ${user.email}, verified.`
    : `Email address is now ${user.email}: a verification link was mailed to it.`;
});

onClick("email-remove", "Removing the email address", async () => {
  // The current password typed in the address's form: removing the address needs it too.
  const oldPassword = document.querySelector("#email [name=old_password]").value;
  const { user } = await api.editEmail(null, oldPassword);
  showUser(user);
  return `${user.username} has no email address.`;
});

onClick("email-send-again", "Sending the verification mail again", async () => {
  await api.sendVerification();
  return "A new verification link was mailed; the older ones no longer work.";
});

onSubmit("password", "Changing the password", async ({ old_password: old, password }) => {
  const { user } = await api.changePassword(old, password);
  showUser(user);
  view.showSessions(null);
  return "Password changed: every other session ended, this page has a new one.";
});

onSubmit("fact", "Computing", async ({ n }) => {
  const answer = await api.factorial(n.trim());
  view.showFact(answer);
  return `${answer.body.n}! has ${answer.body.digits} digits.`;
});

onSubmit("avatar", "Uploading the avatar", async ({ avatar }) => {
  const { user } = await api.uploadAvatar(avatar);
  showUser(user);
  return `Avatar of ${user.username} uploaded.`;
});

onClick("avatar-remove", "Removing the avatar", async () => {
  const { user } = await api.removeAvatar();
  showUser(user);
  return `${user.username} has no avatar.`;
});

/** Lists the sessions; the status line counts them. */
async function listSessions() {
  const { sessions } = await api.sessions();
  view.showSessions(sessions);
  return sessions.length === 1 ? "1 live session." : `${sessions.length} live sessions.`;
}

onClick("sessions-list", "Listing the sessions", listSessions);

onClick("sessions-end-others", "Ending every other session", async () => {
  const { revoked } = await api.revokeSessions(null);
  return `Ended ${revoked} other session${revoked === 1 ? "" : "s"}. ${await listSessions()}`;
});

// The "End" buttons of the sessions table, rebuilt at each listing: one listener for them all.
document.getElementById("sessions-table").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-session-id]");
  if (button === null) return;
  const { sessionId, current } = button.dataset;
  run("Ending the session", async () => {
    if (current === "true") {
      await api.revokeSessions(sessionId, { current: true });
      showUser(null);
      return "Ended this session: logged out.";
    }
    await api.revokeSessions(sessionId);
    return `Ended session ${sessionId}. ${await listSessions()}`;
  });
});

onSubmit("delete-account", "Deleting the account", async ({ password }) => {
  await api.deleteAccount(password);
  showUser(null);
  return "Account deleted: logged out.";
});

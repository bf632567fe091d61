// The portal's only script; every page works without it.
//
// Copy buttons: a button with data-copy="ID" copies the text of the element with that id,
// and says so where screen readers hear it.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  event.preventDefault();
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    button.setAttribute("aria-live", "polite");
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

// A SAML test login over the POST binding: the form goes to the IdP on its own.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autopost]");
  if (form) form.submit();
});

// A page that waits on a test login in another tab (the test step, a pending change) has
// data-test-watch="<status URL>" and data-latest="<the newest test id it shows>". It asks
// the URL while it is in view, and at once when a result page of the same connection says
// it is done; a new id means a test finished, and the page reloads to show it. Gently: every
// few seconds, never while hidden, for a bounded time, longer after a Retry-After. Its
// "Check again" link is what a browser without script uses. A directory's page waits on its
// IdP's next SCIM request the same way (its URL answers the newest logged request's id).
const TESTS_CHANNEL = "gatehouse-portal-tests";
const WATCH_EVERY_MS = 4000;
const WATCH_FOR_MS = 15 * 60 * 1000;

function watchTests(element) {
  const url = element.dataset.testWatch;
  const connection = element.dataset.connection;
  const seen = element.dataset.latest || null;
  const until = Date.now() + WATCH_FOR_MS;
  let timer = null;
  let asking = false;

  const schedule = (delay) => {
    clearTimeout(timer);
    if (Date.now() < until && document.visibilityState === "visible") {
      timer = setTimeout(ask, delay);
    }
  };
  const ask = () => {
    if (asking) return;
    asking = true;
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store",
                 credentials: "same-origin" })
      .then((response) => {
        if (response.status === 429 || response.status === 503) {
          const wait = Number(response.headers.get("Retry-After")) || 60;
          schedule(wait * 1000);
          return null;
        }
        // Signed out, or not this session's connection: stop, the link says what to do.
        if (!response.ok) return null;
        return response.json().then((status) => {
          if ((status.latest || null) !== seen) {
            window.location.reload();
          } else {
            schedule(WATCH_EVERY_MS);
          }
        });
      })
      .catch(() => schedule(WATCH_EVERY_MS * 4))
      .finally(() => { asking = false; });
  };

  document.addEventListener("visibilitychange", () => schedule(0));
  if ("BroadcastChannel" in window) {
    new BroadcastChannel(TESTS_CHANNEL).addEventListener("message", (event) => {
      if (event.data && event.data.connection === connection) schedule(0);
    });
  }
  schedule(WATCH_EVERY_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  const watched = document.querySelector("[data-test-watch]");
  if (watched) watchTests(watched);
  // A result page: the page that started the test may be waiting on it.
  const finished = document.querySelector("[data-test-finished]");
  if (finished && "BroadcastChannel" in window) {
    const channel = new BroadcastChannel(TESTS_CHANNEL);
    channel.postMessage({ connection: finished.dataset.testFinished });
    channel.close();
  }
});

/* octopus: say so when a dashboard page has lost its kernel, and offer a reload.

   Why: a dashboard's widgets talk to the kernel that rendered the page. When that kernel
   has been culled (idle too long), shut down, or the server restarted, the widgets would
   silently do nothing. When the user acts on the page (a click, a change, a key; at most
   one question every 10 s), when the tab becomes visible again, when a kernel websocket
   closes and when a request about a kernel answers 404 or fails, this script asks the
   server whether the page's kernel still exists, and if not shows a plain message with a
   Reload button. It does not poll: a timer would keep the login session alive for as long
   as a tab stays open. (A shut-down kernel does not always close the page's websocket, so
   the user's own action is the sure moment to ask.) */
(function () {
  "use strict";
  var shown = false;

  function config() {
    var el = document.getElementById("jupyter-config-data");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }

  function show(text) {
    if (shown) { return; }
    shown = true;
    var bar = document.createElement("div");
    bar.className = "octo-lost";
    bar.setAttribute("role", "alert");
    var span = document.createElement("span");
    span.textContent = text;
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Reload the page";
    button.addEventListener("click", function () { window.location.reload(); });
    bar.appendChild(span);
    bar.appendChild(button);
    document.body.appendChild(bar);
  }

  function check() {
    if (shown) { return; }
    var c = config();
    if (!c.kernelId) { return; }
    var base = c.baseUrl || "/";
    nativeFetch(base + "api/kernels/" + encodeURIComponent(c.kernelId),
          { credentials: "same-origin", cache: "no-store", redirect: "manual" })
      .then(function (r) {
        if (r.status === 404) {
          show("This page has stopped working: it was left idle for a while, or the server " +
               "restarted, so its session on the server ended. Reload the page to continue.");
        } else if (r.status === 403 || r.status === 401 || r.type === "opaqueredirect") {
          show("You have been signed out. Reload the page to sign in again.");
        }
      })
      .catch(function () {
        show("The server cannot be reached right now. Reload the page once it is back.");
      });
  }

  // Watch the page's own requests about kernels (Voila makes its connection after this
  // script has run, with the fetch and WebSocket it finds then).
  var nativeFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var answer = nativeFetch(input, init);
    var url = String((input && input.url) || input);
    if (url.indexOf("/api/kernels/") !== -1) {
      answer.then(function (r) { if (r.status === 404) { check(); } },
                  function () { window.setTimeout(check, 1500); });
    }
    return answer;
  };
  var Native = window.WebSocket;
  if (Native) {
    var Watched = function (url, protocols) {
      var ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
      if (String(url).indexOf("/api/kernels/") !== -1) {
        ws.addEventListener("close", function () { window.setTimeout(check, 1500); });
      }
      return ws;
    };
    Watched.prototype = Native.prototype;
    ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (k) { Watched[k] = Native[k]; });
    window.WebSocket = Watched;
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { check(); } });
  var lastAsked = 0;
  function onAction() {
    var now = Date.now();
    if (now - lastAsked < 10000) { return; }
    lastAsked = now;
    check();
  }
  ["click", "change", "keydown"].forEach(function (name) {
    document.addEventListener(name, onAction, true);
  });
  window.octoCheckKernel = check;
})();

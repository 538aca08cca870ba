/* ModelDesk embed: one line in a portal page adds a floating chat button and the chat in a frame.
 *
 *   <script src="https://modeldesk.example.com/embed.js" data-key="YOUR-KEY" defer></script>
 *
 * In a portal with single sign-on, give the chat each person's own sign-in token instead of a key:
 *
 *   <script src="https://modeldesk.example.com/embed.js" data-token-provider="getModelDeskToken" defer></script>
 *
 * where `window.getModelDeskToken()` returns the signed-in user's token (a JWT from the identity
 * provider, for the audience MODELDESK_OIDC_AUDIENCE), or a promise of one. The chat asks for a
 * token when it needs one and again shortly before the one it has expires; the token is handed to
 * the chat's frame by postMessage, addressed to ModelDesk's origin only, and is never in the page.
 *
 * Optional attributes: data-model="credit-default" (ask about one model), data-label="Ask ModelDesk",
 * data-position="left" (default right), data-open="true" (open at load).
 * A data-key (demos) travels to the frame in the URL fragment, which browsers never send to a server.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__modeldeskEmbed) return;
  window.__modeldeskEmbed = true;

  var src = new URL(script.src, location.href);
  var base = src.href.replace(/\/embed\.js(\?.*)?$/, "");
  var origin = src.origin;
  var key = script.getAttribute("data-key") || "";
  var tokenProvider = script.getAttribute("data-token-provider") || "";
  var model = script.getAttribute("data-model") || "";
  var label = script.getAttribute("data-label") || "Ask ModelDesk";
  var left = script.getAttribute("data-position") === "left";
  var side = left ? "left" : "right";

  function mount() {
    var host = document.createElement("div");
    host.id = "modeldesk-embed";
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = document.createElement("style");
    style.textContent = [
      ":host{all:initial}",
      ".launcher{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483000;font:600 16px/1.2 system-ui,sans-serif;",
      "background:#0b57d0;color:#fff;border:0;border-radius:999px;padding:12px 18px;box-shadow:0 4px 14px rgba(0,0,0,.3);cursor:pointer}",
      ".launcher:hover{background:#083f99}",
      ".launcher:focus-visible{outline:3px solid #b3261e;outline-offset:3px}",
      ".panel{position:fixed;bottom:80px;" + side + ":20px;z-index:2147483000;width:min(420px,calc(100vw - 40px));",
      "height:min(640px,calc(100vh - 110px));border:1px solid #c9ced6;border-radius:12px;overflow:hidden;",
      "box-shadow:0 8px 30px rgba(0,0,0,.3);background:#fff}",
      ".panel[hidden]{display:none}",
      "iframe{border:0;width:100%;height:100%;display:block}"
    ].join("");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "launcher";
    button.textContent = label;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "modeldesk-panel");
    var panel = document.createElement("div");
    panel.className = "panel";
    panel.id = "modeldesk-panel";
    panel.hidden = true;
    panel.setAttribute("role", "region");
    panel.setAttribute("aria-label", "ModelDesk chat");
    var frame = null;

    function open() {
      if (!frame) {
        frame = document.createElement("iframe");
        frame.title = "ModelDesk chat";
        var query = "?embed=1" + (model ? "&model=" + encodeURIComponent(model) : "") + (tokenProvider ? "&auth=portal" : "");
        frame.src = base + "/" + query + (key && !tokenProvider ? "#key=" + encodeURIComponent(key) : "");
        frame.setAttribute("allow", "clipboard-write");
        frame.referrerPolicy = "no-referrer";
        panel.appendChild(frame);
      }
      panel.hidden = false;
      button.setAttribute("aria-expanded", "true");
      button.textContent = "Close ModelDesk";
      frame.focus();
    }
    function close() {
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
      button.textContent = label;
      button.focus();
    }
    button.addEventListener("click", function () { panel.hidden ? open() : close(); });
    // The chat asks for a token; the portal's function supplies it, to the chat's frame and origin only.
    function supplyToken(id) {
      function reply(message) {
        message.type = "modeldesk:token";
        message.id = id;
        if (frame && frame.contentWindow) frame.contentWindow.postMessage(message, origin);
      }
      var provider = window[tokenProvider];
      if (typeof provider !== "function") {
        reply({ error: "window." + tokenProvider + " is not a function" });
        return;
      }
      Promise.resolve().then(function () { return provider(); }).then(function (token) {
        reply(typeof token === "string" && token ? { token: token } : { error: "the portal returned no token" });
      }, function (err) {
        reply({ error: String((err && err.message) || err) });
      });
    }
    window.addEventListener("message", function (event) {
      if (event.origin !== origin || !event.data) return;
      if (event.data.type === "modeldesk:close" && !panel.hidden) close();
      else if (event.data.type === "modeldesk:token-request" && tokenProvider && frame &&
               event.source === frame.contentWindow) supplyToken(event.data.id);
    });
    root.appendChild(style);
    root.appendChild(panel);
    root.appendChild(button);
    document.body.appendChild(host);
    if (script.getAttribute("data-open") === "true") open();
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();

// cloudseat chat widget. A shop embeds it with
//   <script src="https://cloudseat.example/widget.js" data-key="wk_..." async></script>
// (optional data-skill, default "general"; optional data-lang). Plain JavaScript, no
// build step; it talks only to the service it was loaded from (/ws/customer).
//
// The chat survives reloads and dropped connections: the chat's token, the last message
// number seen and unsent messages live in localStorage (per widget key), and a reconnect
// says hello with the token and that number, then resends what the server never echoed
// (each message has a client_id, so nothing is stored twice). Everything an agent or a
// customer wrote is put on the page with textContent only.
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector("script[src*='widget.js'][data-key]");
  if (!script || typeof WebSocket !== "function" || window.__cloudseatWidget) return;
  window.__cloudseatWidget = true;
  var key = script.getAttribute("data-key") || "";
  var skill = script.getAttribute("data-skill") || "general";
  var origin;
  try {
    origin = new URL(script.src, document.baseURI);
  } catch (e) {
    return;
  }
  var socketUrl = (origin.protocol === "https:" ? "wss://" : "ws://") + origin.host + "/ws/customer";
  var storeKey = "cloudseat.widget." + key;

  var TEXT = {
    en: {
      open: "Chat with us",
      title: "Chat with us",
      minimize: "Minimize the chat",
      intro: "Hello! Write to us and an agent will answer shortly.",
      name: "Your name (optional)",
      message: "Message",
      hint: "Enter sends, Shift+Enter starts a new line.",
      send: "Send",
      you: "You",
      agent: "Agent",
      note: "Note",
      sending: "Sending…",
      sent: "Sent",
      read: "Read",
      connecting: "Connecting…",
      reconnecting: "Connection lost; trying again…",
      queue: "You are number %{position} in the queue.",
      wait: "Estimated wait: about %{minutes} min.",
      waiting: "Waiting for an agent…",
      joined: "You are chatting with %{name}.",
      typing: "%{name} is typing…",
      left_message: "Nobody is on shift right now. Leave a message and the shop will get back to you.",
      idle: "Are you still there? This chat will close soon unless you write.",
      closed: "This chat has ended.",
      rate_legend: "How was this chat?",
      stars: "%{n} of 5",
      comment: "Comment (optional)",
      rate: "Send rating",
      thanks: "Thank you for your rating.",
      new_chat: "Start a new chat",
      end_chat: "End chat",
      unread: "%{count} new",
      unavailable: "The chat is not available right now.",
      failed: "The message could not be sent: %{detail}"
    },
    "zh-CN": {
      open: "在线咨询",
      title: "在线咨询",
      minimize: "收起聊天窗口",
      intro: "您好！请留言，客服会尽快回复您。",
      name: "您的称呼（可选）",
      message: "消息",
      hint: "按 Enter 发送，Shift+Enter 换行。",
      send: "发送",
      you: "我",
      agent: "客服",
      note: "提示",
      sending: "发送中…",
      sent: "已发送",
      read: "已读",
      connecting: "正在连接…",
      reconnecting: "连接中断，正在重试…",
      queue: "您前面排在第 %{position} 位。",
      wait: "预计等待约 %{minutes} 分钟。",
      waiting: "正在为您分配客服…",
      joined: "客服 %{name} 正在为您服务。",
      typing: "%{name} 正在输入…",
      left_message: "当前没有客服值班。请留言，店铺会尽快联系您。",
      idle: "您还在吗？如果没有新消息，会话将很快结束。",
      closed: "本次会话已结束。",
      rate_legend: "您对本次服务满意吗？",
      stars: "%{n} 分（满分 5 分）",
      comment: "评价（可选）",
      rate: "提交评分",
      thanks: "感谢您的评价。",
      new_chat: "开始新的会话",
      end_chat: "结束会话",
      unread: "%{count} 条新消息",
      unavailable: "聊天服务暂时不可用。",
      failed: "消息未能发送：%{detail}"
    }
  };
  var pageLang = script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en";
  var T = /^zh/i.test(pageLang) ? TEXT["zh-CN"] : TEXT.en;
  var langCode = T === TEXT.en ? "en" : "zh-CN";
  var fill = function (template, values) {
    return template.replace(/%\{(\w+)\}/g, function (_, k) { return values[k] !== undefined ? values[k] : ""; });
  };

  // ----- what survives a reload -----
  var saved = {};
  try {
    saved = JSON.parse(window.localStorage.getItem(storeKey) || "{}") || {};
  } catch (e) {
    saved = {};
  }
  var state = {
    token: saved.token || null,
    chat: saved.chat || null,
    after: saved.after || 0,
    pending: Array.isArray(saved.pending) ? saved.pending : [], // [{client_id, body}]
    name: saved.name || ""
  };
  var persist = function () {
    try {
      window.localStorage.setItem(storeKey, JSON.stringify(state));
    } catch (e) {
      // Private mode or a full quota: the chat still works until the page reloads.
    }
  };

  // ----- styles (a constructed sheet: allowed where a page's CSP forbids inline <style>) -----
  var CSS = [
    ".csw{all:initial;position:fixed;right:1rem;bottom:1rem;z-index:2147483000;font:15px/1.45 system-ui,-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei',sans-serif;color:#1a1a1a}",
    ".csw *{box-sizing:border-box;font:inherit;color:inherit}",
    ".csw button{cursor:pointer;border-radius:6px;border:2px solid #0b5cad;background:#0b5cad;color:#fff;padding:.45rem .9rem;font-weight:600}",
    ".csw button:hover{background:#084683;border-color:#084683}",
    ".csw button.csw-secondary{background:#fff;color:#0b5cad}",
    ".csw button.csw-secondary:hover{background:#e3f0fb}",
    ".csw :focus-visible{outline:3px solid #ffbf47;outline-offset:2px}",
    ".csw-launcher{display:block;margin-left:auto;border-radius:999px!important;padding:.7rem 1.2rem!important;box-shadow:0 2px 10px rgba(0,0,0,.25)}",
    ".csw-badge{display:inline-block;margin-left:.5rem;background:#b00020;color:#fff;border-radius:999px;padding:0 .5rem;font-size:.85em}",
    ".csw-panel{width:min(24rem,calc(100vw - 2rem));height:min(34rem,calc(100vh - 6rem));display:flex;flex-direction:column;background:#fff;border:1px solid #6b7280;border-radius:10px;box-shadow:0 4px 24px rgba(0,0,0,.25);margin-bottom:.75rem;overflow:hidden}",
    ".csw [hidden]{display:none!important}",
    ".csw-head{display:flex;align-items:center;justify-content:space-between;gap:.5rem;background:#0b5cad;color:#fff;padding:.5rem .75rem}",
    ".csw-head h2{margin:0;font-size:1.05rem;font-weight:700;color:#fff}",
    ".csw-head button{background:#fff;color:#0b5cad;border-color:#fff;padding:.2rem .6rem}",
    ".csw-status{margin:0;padding:.4rem .75rem;background:#f4f6f8;border-bottom:1px solid #d0d5db;font-size:.9rem;min-height:1.5em}",
    ".csw-scroll{flex:1;overflow-y:auto}",
    ".csw-log{list-style:none;margin:0;padding:.75rem;display:flex;flex-direction:column;gap:.4rem}",
    ".csw-log li{max-width:85%;padding:.35rem .6rem;border-radius:8px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".csw-log li.csw-customer{align-self:flex-end;background:#e3f0fb}",
    ".csw-log li.csw-agent{align-self:flex-start;background:#f4f6f8}",
    ".csw-log li.csw-system{align-self:center;background:#fff4e0;font-size:.9rem}",
    ".csw-who{display:block;font-weight:700;font-size:.85rem}",
    ".csw-state{display:block;font-size:.8rem;color:#4a4a4a;text-align:right}",
    ".csw-typing{margin:0 .75rem;min-height:1.4em;font-size:.85rem;color:#4a4a4a}",
    ".csw-form{display:grid;gap:.3rem;padding:.5rem .75rem .75rem;border-top:1px solid #d0d5db}",
    ".csw-form label,.csw-rate legend{font-weight:600;font-size:.9rem}",
    ".csw-form input,.csw-form textarea{width:100%;padding:.4rem .5rem;border:2px solid #6b7280;border-radius:4px;background:#fff}",
    ".csw-hint{margin:0;font-size:.8rem;color:#4a4a4a}",
    ".csw-row{display:flex;gap:.5rem;justify-content:flex-end;flex-wrap:wrap}",
    ".csw-rate{border:2px solid #d0d5db;border-radius:6px;padding:.4rem .6rem;margin:0}",
    ".csw-rate label{font-weight:400;margin-right:.6rem;white-space:nowrap}",
    ".csw-rate input[type=radio]{width:auto}",
    ".csw-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (prefers-reduced-motion:reduce){.csw *{transition:none!important;animation:none!important}}"
  ].join("\n");
  var addStyles = function () {
    try {
      if ("adoptedStyleSheets" in document && typeof CSSStyleSheet === "function") {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
        return;
      }
    } catch (e) {
      // Fall back to a <style> element below.
    }
    var style = document.createElement("style");
    style.textContent = CSS;
    document.head.appendChild(style);
  };

  // ----- the DOM -----
  var el = function (tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };
  var uid = "csw-" + Math.random().toString(36).slice(2, 8);

  var box = el("div", "csw");
  box.setAttribute("lang", langCode);
  var panel = el("div", "csw-panel");
  panel.id = uid + "-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", uid + "-title");

  var head = el("div", "csw-head");
  var title = el("h2", "", T.title);
  title.id = uid + "-title";
  var minimize = el("button", "", "–");
  minimize.type = "button";
  minimize.setAttribute("aria-label", T.minimize);
  head.appendChild(title);
  head.appendChild(minimize);

  var status = el("p", "csw-status");
  status.setAttribute("role", "status");
  // The live region wraps the list, so the list keeps its list semantics.
  var scroller = el("div", "csw-scroll");
  scroller.setAttribute("role", "log");
  scroller.setAttribute("aria-live", "polite");
  scroller.setAttribute("aria-labelledby", uid + "-title");
  var log = el("ol", "csw-log");
  scroller.appendChild(log);
  var typingLine = el("p", "csw-typing");
  typingLine.setAttribute("aria-live", "polite");

  var form = el("form", "csw-form");
  var nameLabel = el("label", "", T.name);
  nameLabel.htmlFor = uid + "-name";
  var nameInput = el("input");
  nameInput.id = uid + "-name";
  nameInput.type = "text";
  nameInput.maxLength = 80;
  nameInput.autocomplete = "name";
  nameInput.value = state.name;
  var msgLabel = el("label", "", T.message);
  msgLabel.htmlFor = uid + "-message";
  var textarea = el("textarea");
  textarea.id = uid + "-message";
  textarea.rows = 2;
  textarea.maxLength = 4000;
  var hint = el("p", "csw-hint", T.hint);
  hint.id = uid + "-hint";
  textarea.setAttribute("aria-describedby", hint.id);
  var row = el("div", "csw-row");
  var endButton = el("button", "csw-secondary", T.end_chat);
  endButton.type = "button";
  var sendButton = el("button", "", T.send);
  sendButton.type = "submit";
  row.appendChild(endButton);
  row.appendChild(sendButton);
  [nameLabel, nameInput, msgLabel, textarea, hint, row].forEach(function (n) { form.appendChild(n); });

  // Shown when the chat ended: rating and a new start.
  var after = el("div", "csw-form");
  after.hidden = true;
  var rateForm = el("form", "csw-form");
  var fieldset = el("fieldset", "csw-rate");
  fieldset.appendChild(el("legend", "", T.rate_legend));
  for (var n = 1; n <= 5; n += 1) {
    var radio = el("input");
    radio.type = "radio";
    radio.name = uid + "-score";
    radio.value = String(n);
    radio.id = uid + "-score-" + n;
    var label = el("label");
    label.htmlFor = radio.id;
    label.appendChild(radio);
    label.appendChild(document.createTextNode(" " + n));
    label.appendChild(el("span", "csw-hidden", " (" + fill(T.stars, { n: n }) + ")"));
    fieldset.appendChild(label);
  }
  var commentLabel = el("label", "", T.comment);
  commentLabel.htmlFor = uid + "-comment";
  var comment = el("textarea");
  comment.id = uid + "-comment";
  comment.rows = 2;
  comment.maxLength = 1000;
  var rateButton = el("button", "", T.rate);
  rateButton.type = "submit";
  [fieldset, commentLabel, comment, rateButton].forEach(function (x) { rateForm.appendChild(x); });
  var newChat = el("button", "csw-secondary", T.new_chat);
  newChat.type = "button";
  after.appendChild(rateForm);
  after.appendChild(newChat);

  [head, status, scroller, typingLine, form, after].forEach(function (x) { panel.appendChild(x); });

  var launcher = el("button", "csw-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", panel.id);
  var launcherText = el("span", "", T.open);
  var badge = el("span", "csw-badge");
  badge.hidden = true;
  launcher.appendChild(launcherText);
  launcher.appendChild(badge);
  box.appendChild(panel);
  box.appendChild(launcher);

  // ----- the chat as the widget knows it -----
  var messages = []; // {seq, from, body, client_id, at}
  var seen = {};
  var chatStatus = null; // queued, offered, assigned, closed, abandoned, left_message
  var agentName = null;
  var agentRead = 0;
  var queueText = "";
  var idle = false;
  var mayRate = false;
  var rated = false;
  var unread = 0;
  var notice = "";

  var isOpen = function () { return !panel.hidden; };
  var ended = function () { return chatStatus === "closed" || chatStatus === "abandoned"; };

  var statusText = function () {
    if (notice) return notice;
    if (ended()) return rated ? T.thanks : T.closed;
    if (idle) return T.idle;
    if (chatStatus === "left_message") return T.left_message;
    if (chatStatus === "assigned" && agentName) return fill(T.joined, { name: agentName });
    if (chatStatus === "queued" || chatStatus === "offered") return queueText || T.waiting;
    if (!state.token && !state.pending.length) return T.intro;
    return "";
  };

  var render = function () {
    var items = [];
    messages.forEach(function (m) {
      var cls = m.from === "customer" ? "csw-customer" : m.from === "agent" ? "csw-agent" : "csw-system";
      var li = el("li", cls);
      var who = m.from === "customer" ? T.you : m.from === "agent" ? (agentName || T.agent) : T.note;
      li.appendChild(el("span", "csw-who", who));
      li.appendChild(el("span", "csw-body", m.body));
      if (m.from === "customer") li.appendChild(el("span", "csw-state", m.seq <= agentRead ? T.read : T.sent));
      items.push(li);
    });
    state.pending.forEach(function (p) {
      var li = el("li", "csw-customer");
      li.appendChild(el("span", "csw-who", T.you));
      li.appendChild(el("span", "csw-body", p.body));
      li.appendChild(el("span", "csw-state", T.sending));
      items.push(li);
    });
    var atEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    log.replaceChildren.apply(log, items);
    if (atEnd) scroller.scrollTop = scroller.scrollHeight;
    var text = statusText();
    if (status.textContent !== text) status.textContent = text;
    var started = !!state.token || state.pending.length > 0;
    nameLabel.hidden = started;
    nameInput.hidden = started;
    form.hidden = ended();
    endButton.hidden = !state.token || ended();
    after.hidden = !ended();
    rateForm.hidden = !(mayRate && !rated);
    badge.hidden = unread === 0 || isOpen();
    badge.textContent = fill(T.unread, { count: unread });
  };

  // ----- the socket -----
  var socket = null;
  var welcomed = false;
  var attempt = 0;
  var retry = null;
  var counter = 0;
  var clientId = function () {
    counter += 1;
    return "c" + Date.now().toString(36) + "-" + counter + "-" + Math.random().toString(36).slice(2, 8);
  };
  var send = function (frame) {
    if (socket && socket.readyState === WebSocket.OPEN && welcomed) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  };

  var opening = function () {
    if (state.token) return { type: "hello", token: state.token, after: state.after };
    if (!state.pending.length) return null;
    var first = state.pending[0];
    var frame = { type: "start", key: key, skill: skill, message: { client_id: first.client_id, body: first.body } };
    if (state.name) frame.name = state.name;
    return frame;
  };

  var connect = function () {
    clearTimeout(retry);
    retry = null;
    if (socket || !opening()) return;
    welcomed = false;
    var ws = new WebSocket(socketUrl);
    socket = ws;
    if (!chatStatus) { notice = T.connecting; render(); }
    ws.onopen = function () {
      var frame = opening();
      if (frame) ws.send(JSON.stringify(frame));
      else ws.close(1000);
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      handle(frame);
    };
    ws.onclose = function () {
      if (socket !== ws) return;
      socket = null;
      welcomed = false;
      if (ended() || !opening()) return;
      notice = T.reconnecting;
      render();
      // Exponential back-off with jitter: 1, 2, 4 ... 30 s.
      var secs = Math.min(30, Math.pow(2, attempt));
      attempt += 1;
      retry = setTimeout(connect, secs * 1000 * (0.75 + Math.random() * 0.5));
    };
  };
  var disconnect = function () {
    var ws = socket;
    socket = null;
    welcomed = false;
    if (ws) ws.close(1000);
  };

  var addMessage = function (m) {
    if (seen[m.seq]) return false;
    seen[m.seq] = true;
    messages.push(m);
    messages.sort(function (a, b) { return a.seq - b.seq; });
    if (m.seq > state.after) state.after = m.seq;
    if (m.client_id) {
      state.pending = state.pending.filter(function (p) { return p.client_id !== m.client_id; });
    }
    persist();
    return true;
  };

  var markRead = function () {
    if (!isOpen() || document.hidden) return;
    var last = 0;
    messages.forEach(function (m) { if (m.from !== "customer" && m.seq > last) last = m.seq; });
    if (last > (markRead.sent || 0) && send({ type: "read", seq: last })) markRead.sent = last;
    unread = 0;
  };

  var resendPending = function () {
    if (ended()) return;
    state.pending.forEach(function (p) {
      send({ type: "message", client_id: p.client_id, body: p.body });
    });
  };

  var queueLine = function (position, wait) {
    if (!position) return "";
    var text = fill(T.queue, { position: position });
    if (wait !== null && wait !== undefined) text += " " + fill(T.wait, { minutes: Math.max(1, Math.round(wait / 60)) });
    return text;
  };

  var handle = function (f) {
    switch (f.type) {
      case "started":
        state.token = f.token;
        state.chat = f.chat;
        state.after = 0;
        chatStatus = f.status;
        persist();
        break;
      case "welcome":
        welcomed = true;
        attempt = 0;
        notice = "";
        state.chat = f.chat;
        chatStatus = f.status;
        agentName = f.agent_name;
        agentRead = f.agent_read_seq || 0;
        markRead.sent = f.customer_read_seq || 0;
        rated = !!f.rated;
        mayRate = f.status === "closed" && !f.rated;
        queueText = queueLine(f.position, f.estimated_wait_secs);
        f.messages.forEach(function (m) {
          if (addMessage(m) && m.from !== "customer" && !isOpen()) unread += 1;
        });
        resendPending();
        markRead();
        break;
      case "queue":
        chatStatus = "queued";
        queueText = queueLine(f.position, f.estimated_wait_secs);
        break;
      case "left_message":
        chatStatus = "left_message";
        break;
      case "agent_joined":
        chatStatus = "assigned";
        agentName = f.agent_name;
        idle = false;
        break;
      case "message":
        if (addMessage(f) && f.from !== "customer") {
          typingLine.textContent = "";
          if (isOpen() && !document.hidden) markRead(); else unread += 1;
        }
        if (f.from === "customer") idle = false;
        break;
      case "ack":
        // A resent message the server had already stored, as number `seq`.
        state.pending.forEach(function (p) {
          if (p.client_id === f.client_id) addMessage({ seq: f.seq, from: "customer", body: p.body, client_id: p.client_id });
        });
        state.pending = state.pending.filter(function (p) { return p.client_id !== f.client_id; });
        persist();
        break;
      case "typing":
        if (f.from === "agent") typingLine.textContent = f.on ? fill(T.typing, { name: agentName || T.agent }) : "";
        break;
      case "read":
        if (f.by === "agent") agentRead = Math.max(agentRead, f.seq);
        break;
      case "idle_warning":
        idle = true;
        break;
      case "closed":
        // A chat nobody took ends abandoned, and only a closed one may be rated.
        mayRate = !!f.may_rate;
        chatStatus = mayRate ? "closed" : "abandoned";
        typingLine.textContent = "";
        state.pending = [];
        persist();
        if (isOpen()) setTimeout(function () { (mayRate ? fieldset.querySelector("input") : newChat).focus(); }, 0);
        break;
      case "rated":
        rated = true;
        mayRate = false;
        setTimeout(function () { newChat.focus(); }, 0);
        break;
      case "error":
        if (f.code === "invalid_chat_token") {
          // The chat is gone (or the token was wrong): start afresh with what is unsent.
          state.token = null;
          state.chat = null;
          state.after = 0;
          persist();
          var frame = opening();
          if (frame && socket) socket.send(JSON.stringify(frame));
          else disconnect();
        } else if (f.code === "rate_limited") {
          setTimeout(resendPending, 2000);
        } else if (f.code === "chat_closed") {
          state.pending = [];
          persist();
        } else if (f.errors && f.errors.some(function (e) { return e.code === "unknown_widget_key"; })) {
          notice = T.unavailable;
          state.pending = [];
          persist();
          disconnect();
        } else {
          var first = f.errors && f.errors[0];
          notice = fill(T.failed, { detail: first ? first.message : (f.detail || f.code) });
          if (!welcomed) {
            // A refused start: nothing was created; keep the text for the customer to fix.
            if (state.pending.length) textarea.value = state.pending[0].body;
            state.pending = [];
            persist();
            disconnect();
          }
        }
        break;
      default:
        break;
    }
    render();
  };

  // ----- the customer's actions -----
  var sendMessage = function () {
    var body = textarea.value;
    if (!body.trim()) return;
    notice = "";
    if (!state.token && !state.pending.length) state.name = nameInput.value.trim();
    var message = { client_id: clientId(), body: body };
    state.pending.push(message);
    persist();
    textarea.value = "";
    typing(false);
    if (!send({ type: "message", client_id: message.client_id, body: body })) connect();
    render();
    scroller.scrollTop = scroller.scrollHeight;
  };

  var typingOn = false;
  var typingTimer = null;
  var typing = function (on) {
    clearTimeout(typingTimer);
    if (on !== typingOn && send({ type: "typing", on: on })) typingOn = on;
    if (on) typingTimer = setTimeout(function () { typing(false); }, 3000);
  };

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    sendMessage();
  });
  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });
  textarea.addEventListener("input", function () {
    if (chatStatus === "assigned") typing(textarea.value.length > 0);
  });
  endButton.addEventListener("click", function () {
    send({ type: "close" });
  });
  rateForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var chosen = fieldset.querySelector("input:checked");
    if (!chosen) { fieldset.querySelector("input").focus(); return; }
    var frame = { type: "rate", score: parseInt(chosen.value, 10) };
    if (comment.value.trim()) frame.comment = comment.value.trim();
    send(frame);
  });
  newChat.addEventListener("click", function () {
    disconnect();
    state = { token: null, chat: null, after: 0, pending: [], name: state.name };
    persist();
    messages = [];
    seen = {};
    chatStatus = null;
    agentName = null;
    agentRead = 0;
    queueText = "";
    idle = false;
    mayRate = false;
    rated = false;
    notice = "";
    render();
    textarea.focus();
  });

  var open = function () {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    markRead();
    render();
    scroller.scrollTop = scroller.scrollHeight;
    (form.hidden ? (rateForm.hidden ? newChat : fieldset.querySelector("input")) : textarea).focus();
  };
  var close = function () {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    render();
    launcher.focus();
  };
  launcher.addEventListener("click", function () {
    if (isOpen()) close(); else open();
  });
  minimize.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { markRead(); render(); }
  });
  window.addEventListener("online", function () {
    if (!socket && opening()) { attempt = 0; connect(); }
  });

  var mount = function () {
    addStyles();
    document.body.appendChild(box);
    render();
    // A chat from before the reload (or unsent messages) picks up where it was.
    if (opening()) connect();
  };
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();

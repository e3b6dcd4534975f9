// The agent's chat workspace (/agent/chats). Live by nature: it opens /ws/agent with the
// page's session cookie and keeps the page in step with the frames; the customer's
// history and the shop's briefing come from the JSON API (session cookie + CSRF header).
// Everything the server or a customer wrote is put on the page with textContent only.
(function () {
  "use strict";

  var root = document.getElementById("workspace");
  if (!root || typeof WebSocket !== "function") return;

  var $ = function (id) { return document.getElementById(id); };
  var S = JSON.parse(root.getAttribute("data-strings") || "{}");
  var zone = root.getAttribute("data-zone") || "UTC";
  var lang = root.getAttribute("data-lang") || "en";
  var csrf = root.getAttribute("data-csrf") || "";
  // The service's clock decides deadlines; the page counts from what it said.
  var skew = Date.parse(root.getAttribute("data-now")) - Date.now();
  if (isNaN(skew)) skew = 0;
  var now = function () { return Date.now() + skew; };

  var fill = function (template, values) {
    return String(template || "").replace(/%\{(\w+)\}/g, function (_, k) {
      return values[k] !== undefined && values[k] !== null ? values[k] : "";
    });
  };
  var el = function (tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };
  // Server times are UTC without a zone (and microseconds, which Date.parse may refuse).
  var parseAt = function (s) {
    if (!s) return NaN;
    s = String(s).replace(/(\.\d{3})\d+/, "$1");
    if (!/(Z|[+-]\d\d:?\d\d)$/.test(s)) s += "Z";
    return Date.parse(s);
  };
  var timeFormat;
  try {
    timeFormat = new Intl.DateTimeFormat(lang, { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  } catch (e) {
    timeFormat = new Intl.DateTimeFormat(lang, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }
  var fmt = function (s) {
    var ms = parseAt(s);
    return isNaN(ms) ? "" : timeFormat.format(new Date(ms));
  };

  var announceBox = $("ws-announce");
  var announce = function (text) {
    announceBox.textContent = "";
    setTimeout(function () { announceBox.textContent = text; }, 50);
  };
  var errorBox = $("ws-error");
  var showError = function (frame) {
    var detail = frame.detail || frame.code || "";
    if (frame.errors && frame.errors.length) detail = frame.errors[0].message || detail;
    errorBox.textContent = fill(S.error, { detail: detail });
  };
  var conn = $("ws-conn");
  var setConn = function (text) { conn.textContent = text; };

  // ----- state -----
  var offers = []; // { card, expires: ms or NaN }
  var chats = {}; // chat id -> chat
  var order = []; // chat ids, in tab order
  var selected = null;
  var socket = null;
  var attempt = 0;
  var greeted = false;
  var counter = 0;
  var newClientId = function () {
    counter += 1;
    return "w" + Date.now().toString(36) + "-" + counter + "-" + Math.random().toString(36).slice(2, 8);
  };
  var send = function (frame) {
    if (socket && socket.readyState === WebSocket.OPEN && greeted) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  };
  var nameOf = function (card) { return card.customer_name || S.customer; };

  // ----- offers -----
  var offerList = $("ws-offers");
  var renderOffers = function () {
    offerList.replaceChildren();
    offers.forEach(function (offer) {
      var card = offer.card;
      var li = el("li", "ws-offer");
      li.setAttribute("data-chat", card.chat);
      var text = el("span", "ws-offer-text", fill(S.offer_line, { name: nameOf(card), shop: card.merchant_name, skill: card.skill }));
      li.appendChild(text);
      var left = el("span", "ws-offer-left");
      left.setAttribute("data-left", "");
      li.appendChild(left);
      var accept = el("button", "ws-accept", S.accept);
      accept.type = "button";
      accept.appendChild(el("span", "visually-hidden", " " + nameOf(card)));
      accept.addEventListener("click", function () { acceptOffer(card.chat); });
      var decline = el("button", "secondary ws-decline", S.decline);
      decline.type = "button";
      decline.appendChild(el("span", "visually-hidden", " " + nameOf(card)));
      decline.addEventListener("click", function () {
        send({ type: "decline", chat: card.chat });
        removeOffer(card.chat);
      });
      li.appendChild(accept);
      li.appendChild(decline);
      offerList.appendChild(li);
    });
    $("ws-no-offers").hidden = offers.length > 0;
    tickOffers();
  };
  var tickOffers = function () {
    offers.forEach(function (offer) {
      var li = offerList.querySelector("li[data-chat='" + CSS.escape(offer.card.chat) + "']");
      if (!li) return;
      var left = li.querySelector("[data-left]");
      if (isNaN(offer.expires)) { left.textContent = ""; return; }
      var secs = Math.max(0, Math.ceil((offer.expires - now()) / 1000));
      var text = fill(S.offer_left, { secs: secs });
      if (left.textContent !== text) left.textContent = text;
    });
  };
  var removeOffer = function (chat) {
    var before = offers.length;
    offers = offers.filter(function (o) { return o.card.chat !== chat; });
    if (offers.length !== before) renderOffers();
  };
  var acceptOffer = function (chat) {
    if (send({ type: "accept", chat: chat })) {
      pendingSelect = chat;
      removeOffer(chat);
    }
  };
  var pendingSelect = null;

  // ----- chats -----
  var tabs = $("ws-tabs");
  var panel = $("ws-chat");
  var messagesBox = $("ws-messages");
  var scroller = $("ws-log");
  var replyText = $("ws-reply-text");

  var chatOf = function (card) {
    var chat = chats[card.chat];
    if (!chat) {
      chat = { id: card.chat, card: card, messages: [], bySeq: {}, pending: {}, unread: 0, customerRead: 0, agentRead: card.agent_read_seq || 0, ended: null, rated: null, typing: false, idle: false, history: null, briefing: null };
      chats[card.chat] = chat;
      order.push(card.chat);
    } else {
      chat.card = card;
    }
    return chat;
  };

  var addMessage = function (chat, m) {
    if (chat.bySeq[m.seq]) return false;
    chat.bySeq[m.seq] = m;
    chat.messages.push(m);
    chat.messages.sort(function (a, b) { return a.seq - b.seq; });
    if (m.client_id && chat.pending[m.client_id]) delete chat.pending[m.client_id];
    return true;
  };

  var renderTabs = function () {
    tabs.replaceChildren();
    order.forEach(function (id, index) {
      var chat = chats[id];
      var tab = el("button", "ws-tab");
      tab.type = "button";
      tab.id = "ws-tab-" + index;
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", "ws-chat");
      tab.setAttribute("aria-selected", id === selected ? "true" : "false");
      tab.tabIndex = id === selected || (selected === null && index === 0) ? 0 : -1;
      tab.setAttribute("data-chat", id);
      tab.appendChild(el("span", "ws-tab-num", (index + 1) + ". "));
      tab.appendChild(el("span", "ws-tab-name", nameOf(chat.card)));
      if (chat.ended) tab.appendChild(el("span", "ws-tab-ended", " ✓"));
      if (chat.unread > 0) tab.appendChild(el("span", "badge warn ws-unread", fill(S.unread, { count: chat.unread })));
      tab.addEventListener("click", function () { select(id, false); });
      tab.addEventListener("keydown", function (event) {
        var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        event.preventDefault();
        var next = order[(index + step + order.length) % order.length];
        select(next, false);
        var nextTab = tabs.querySelector("[data-chat='" + CSS.escape(next) + "']");
        if (nextTab) nextTab.focus();
      });
      tabs.appendChild(tab);
    });
    $("ws-no-chats").hidden = order.length > 0;
    panel.hidden = selected === null;
    if (selected !== null) {
      var index = order.indexOf(selected);
      panel.setAttribute("aria-labelledby", "ws-tab-" + index);
    }
  };

  var messageItem = function (chat, m) {
    var from = m.from === "agent" ? "from-agent" : m.from === "system" ? "from-system" : "from-customer";
    var li = el("li", from);
    li.setAttribute("data-seq", m.seq === undefined ? "" : m.seq);
    var who = m.from === "agent" ? S.you : m.from === "system" ? S.system : nameOf(chat.card);
    li.appendChild(el("span", "who", who));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "body", m.body));
    var meta = el("span", "ws-meta");
    if (m.at) meta.appendChild(el("time", "", fmt(m.at)));
    if (m.pending) {
      meta.appendChild(el("span", "ws-state", S.sending));
    } else if (m.from === "agent") {
      meta.appendChild(el("span", "ws-state", m.seq <= chat.customerRead ? S.read : S.sent));
    }
    li.appendChild(meta);
    return li;
  };

  var renderMessages = function () {
    var chat = chats[selected];
    if (!chat) return;
    var items = chat.messages.map(function (m) { return messageItem(chat, m); });
    Object.keys(chat.pending).forEach(function (id) {
      items.push(messageItem(chat, { from: "agent", body: chat.pending[id], pending: true, client_id: id }));
    });
    var atEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    messagesBox.replaceChildren.apply(messagesBox, items);
    if (atEnd) scroller.scrollTop = scroller.scrollHeight;
  };

  var renderPanel = function () {
    var chat = chats[selected];
    if (!chat) { renderTabs(); return; }
    var card = chat.card;
    $("ws-chat-title").textContent = nameOf(card);
    var meta = fill(S.channel_skill, { shop: card.merchant_name, skill: card.skill, channel: card.channel });
    if (card.previous_chats > 0) meta += " · " + fill(S.previous_chats_count, { count: card.previous_chats });
    $("ws-chat-meta").textContent = meta;
    $("ws-waiting").textContent = fill(S.waiting_since, { time: fmt(card.waiting_since) });
    var handover = $("ws-handover");
    handover.hidden = !card.handover_note;
    handover.textContent = card.handover_note ? fill(S.handover, { note: card.handover_note }) : "";
    $("ws-typing").textContent = chat.typing && !chat.ended ? S.typing : "";
    var status = $("ws-chat-status");
    var lines = [];
    if (chat.idle && !chat.ended) lines.push(S.idle_warning);
    if (chat.ended) lines.push(chat.ended);
    if (chat.rated) lines.push(fill(S.rated, { score: chat.rated }));
    status.hidden = lines.length === 0;
    status.textContent = lines.join(" ");
    var open = !chat.ended;
    $("ws-reply").hidden = !open;
    $("ws-transfer-box").hidden = !open;
    $("ws-dismiss").hidden = open;
    tickCountdown();
    renderMessages();
    renderTabs();
    renderSide(chat);
  };

  var markRead = function (chat) {
    if (document.hidden || chat.id !== selected || chat.ended) return;
    var last = 0;
    chat.messages.forEach(function (m) { if (m.from === "customer" && m.seq > last) last = m.seq; });
    if (last > (chat.agentRead || 0) && send({ type: "read", chat: chat.id, seq: last })) chat.agentRead = last;
    chat.unread = 0;
  };

  var select = function (id, focusReply) {
    if (!chats[id]) return;
    if (selected !== id) {
      var before = chats[selected];
      if (before) before.draft = replyText.value;
      selected = id;
      replyText.value = chats[id].draft || "";
    }
    markRead(chats[id]);
    renderPanel();
    scroller.scrollTop = scroller.scrollHeight;
    if (focusReply && !chats[id].ended) replyText.focus();
  };

  var tickCountdown = function () {
    var chat = chats[selected];
    var box = $("ws-countdown");
    if (!chat) return;
    var card = chat.card;
    var text;
    if (card.first_response_at || !card.first_response_due) {
      text = card.first_response_at ? S.replied : "";
    } else {
      var secs = Math.round((parseAt(card.first_response_due) - now()) / 1000);
      text = secs >= 0 ? fill(S.reply_within, { secs: secs }) : fill(S.reply_overdue, { secs: -secs });
      box.classList.toggle("overdue", secs < 0);
    }
    if (box.textContent !== text) box.textContent = text;
  };

  var loadMessages = function (chat) {
    api("/api/chats/" + encodeURIComponent(chat.id)).then(function (detail) {
      if (!detail) return;
      detail.messages.forEach(function (m) { addMessage(chat, { chat: chat.id, seq: m.seq, from: m.from, body: m.body, at: m.at }); });
      if (chat.id === selected) renderPanel(); else renderTabs();
    });
  };

  // ----- the side panel: history and briefing -----
  var api = function (path, retried) {
    return fetch(path, { credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRF-Token": csrf } })
      .then(function (res) {
        if (res.status === 401 && !retried) {
          return refreshSession().then(function (ok) { return ok ? api(path, true) : null; });
        }
        if (!res.ok) return null;
        return res.json();
      })
      .catch(function () { return null; });
  };

  var refreshSession = function () {
    return fetch("/session/refresh?next=/healthz", { credentials: "same-origin" })
      .then(function (res) { return res.ok && res.url.indexOf("/sign-in") === -1; })
      .catch(function () { return false; });
  };

  var renderSide = function (chat) {
    var history = $("ws-history");
    if (chat.history === null) {
      chat.history = "loading";
      api("/api/customers/" + encodeURIComponent(chat.card.customer)).then(function (view) {
        chat.history = view || "none";
        if (chat.id === selected) renderSide(chat);
      });
    }
    if (chat.briefing === null) {
      chat.briefing = "loading";
      api("/api/agent/merchants/" + encodeURIComponent(chat.card.merchant) + "/briefing?skill=" + encodeURIComponent(chat.card.skill)).then(function (view) {
        chat.briefing = view || "none";
        if (chat.id === selected) renderSide(chat);
      });
    }
    if (chat.history === "none") {
      history.replaceChildren(el("p", "hint", S.history_unavailable));
    } else if (typeof chat.history === "object") {
      history.replaceChildren.apply(history, historyNodes(chat.history));
    }
    var briefing = $("ws-briefing");
    if (chat.briefing === "none") {
      briefing.replaceChildren(el("p", "hint", S.briefing_unavailable));
    } else if (typeof chat.briefing === "object") {
      briefing.replaceChildren.apply(briefing, briefingNodes(chat.briefing));
    }
  };

  var historyNodes = function (view) {
    var nodes = [];
    nodes.push(el("p", "ws-customer-name", view.display_name || S.customer));
    if (view.identities.length) {
      nodes.push(el("h4", "", S.identities));
      var ids = el("ul", "ws-identities");
      view.identities.forEach(function (i) { ids.appendChild(el("li", "", i.kind + ": " + i.value)); });
      nodes.push(ids);
    }
    nodes.push(el("h4", "", S.notes));
    nodes.push(el("pre", "plain", view.notes && view.notes.trim() ? view.notes : S.no_notes));
    nodes.push(el("h4", "", S.previous_chats));
    var list = el("ul", "ws-past");
    view.chats.forEach(function (c) {
      var li = el("li");
      var details = el("details");
      details.appendChild(el("summary", "", fill(S.chat_on, { when: fmt(c.created_at), channel: c.channel, status: c.status })));
      var ol = el("ol", "transcript");
      c.messages.forEach(function (m) {
        var item = el("li", m.from);
        item.appendChild(el("span", "who", m.from === "agent" ? S.you : m.from === "system" ? S.system : S.customer));
        item.appendChild(document.createTextNode(" " + m.body));
        ol.appendChild(item);
      });
      details.appendChild(ol);
      li.appendChild(details);
      list.appendChild(li);
    });
    nodes.push(list);
    return nodes;
  };

  var briefingNodes = function (b) {
    var nodes = [];
    [["products", b.products], ["shipping", b.shipping], ["returns", b.returns], ["other", b.other]].forEach(function (part) {
      if (!part[1] || !part[1].trim()) return;
      var details = el("details");
      details.appendChild(el("summary", "", S[part[0]]));
      details.appendChild(el("pre", "plain", part[1]));
      nodes.push(details);
    });
    if (b.quick_replies.length) {
      nodes.push(el("h4", "", S.quick_replies));
      var list = el("ul", "ws-quick");
      b.quick_replies.forEach(function (r) {
        var li = el("li");
        var button = el("button", "secondary", fill(S.insert, { title: r.title }));
        button.type = "button";
        button.title = r.body;
        button.addEventListener("click", function () {
          var start = replyText.selectionStart || replyText.value.length;
          var v = replyText.value;
          replyText.value = v.slice(0, start) + r.body + v.slice(replyText.selectionEnd || start);
          replyText.focus();
        });
        li.appendChild(button);
        list.appendChild(li);
      });
      nodes.push(list);
    }
    if (!nodes.length) nodes.push(el("p", "hint", S.briefing_empty));
    return nodes;
  };

  // ----- sending -----
  var sendReply = function () {
    var chat = chats[selected];
    var body = replyText.value;
    if (!chat || chat.ended || !body.trim()) return;
    var id = newClientId();
    chat.pending[id] = body;
    send({ type: "message", chat: chat.id, client_id: id, body: body });
    typingOff(chat);
    replyText.value = "";
    chat.draft = "";
    renderMessages();
    scroller.scrollTop = scroller.scrollHeight;
  };
  var resendPending = function (chat) {
    Object.keys(chat.pending).forEach(function (id) {
      send({ type: "message", chat: chat.id, client_id: id, body: chat.pending[id] });
    });
  };

  var typingTimer = null;
  var typingChat = null;
  var typingOff = function (chat) {
    clearTimeout(typingTimer);
    if (typingChat) send({ type: "typing", chat: typingChat, on: false });
    typingChat = null;
  };
  replyText.addEventListener("input", function () {
    var chat = chats[selected];
    if (!chat || chat.ended) return;
    if (typingChat !== chat.id) {
      typingOff();
      typingChat = chat.id;
      send({ type: "typing", chat: chat.id, on: true });
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(typingOff, 3000);
  });
  replyText.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendReply();
    }
  });
  $("ws-reply").addEventListener("submit", function (event) {
    event.preventDefault();
    sendReply();
  });
  $("ws-close").addEventListener("click", function () {
    if (selected) send({ type: "close", chat: selected });
  });
  $("ws-transfer").addEventListener("submit", function (event) {
    event.preventDefault();
    var to = $("ws-transfer-to").value.trim();
    if (!selected || !to) return;
    var note = $("ws-transfer-note").value.trim();
    var frame = { type: "transfer", chat: selected, to: to };
    if (note) frame.note = note;
    send(frame);
  });
  $("ws-dismiss").addEventListener("click", function () {
    var index = order.indexOf(selected);
    delete chats[selected];
    order.splice(index, 1);
    selected = order.length ? order[Math.min(index, order.length - 1)] : null;
    if (selected) select(selected, false); else renderTabs();
    (tabs.querySelector("[aria-selected=true]") || $("chats-heading")).focus();
  });

  var presence = $("ws-presence");
  var auto = $("ws-auto");
  presence.addEventListener("change", function () {
    send({ type: "presence", status: presence.checked ? "online" : "away" });
  });
  auto.addEventListener("change", function () {
    send({ type: "auto_accept", on: auto.checked });
  });

  // ----- shortcuts -----
  document.addEventListener("keydown", function (event) {
    if (event.altKey && !event.ctrlKey && !event.metaKey) {
      var digit = /^Digit([1-9])$/.exec(event.code || "");
      if (digit) {
        var id = order[parseInt(digit[1], 10) - 1];
        if (id) { event.preventDefault(); select(id, true); }
        return;
      }
      if (event.code === "KeyA") {
        event.preventDefault();
        if (offers.length) acceptOffer(offers[0].card.chat);
      }
      return;
    }
    if (event.key === "Escape" && selected && !chats[selected].ended) {
      event.preventDefault();
      replyText.focus();
    }
  });

  // ----- frames -----
  var handle = function (f) {
    var chat = f.chat ? chats[f.chat] : null;
    switch (f.type) {
      case "hello": {
        greeted = true;
        attempt = 0;
        setConn(S.connected);
        errorBox.textContent = "";
        presence.checked = f.presence === "online";
        auto.checked = !!f.auto_accept;
        presence.disabled = false;
        auto.disabled = false;
        offers = [];
        var held = {};
        f.chats.forEach(function (card) {
          if (card.status === "offered") {
            offers.push({ card: card, expires: NaN });
            return;
          }
          held[card.chat] = true;
          var c = chatOf(card);
          c.ended = null;
          loadMessages(c);
          resendPending(c);
        });
        order.forEach(function (id) {
          if (!held[id] && !chats[id].ended) chats[id].ended = S.taken_back;
        });
        renderOffers();
        if (selected === null && order.length) selected = order[0];
        renderPanel();
        break;
      }
      case "offer":
        removeOffer(f.card.chat);
        offers.push({ card: f.card, expires: parseAt(f.expires_at) });
        renderOffers();
        announce(fill(S.new_offer, { name: nameOf(f.card), shop: f.card.merchant_name }));
        break;
      case "offer_withdrawn":
        removeOffer(f.chat);
        break;
      case "assigned": {
        removeOffer(f.card.chat);
        var c = chatOf(f.card);
        c.ended = null;
        f.messages.forEach(function (m) { addMessage(c, m); });
        if (selected === null || pendingSelect === f.card.chat) {
          pendingSelect = null;
          select(f.card.chat, true);
        } else {
          c.unread = f.messages.filter(function (m) { return m.from === "customer"; }).length;
          renderTabs();
          announce(fill(S.new_message, { name: nameOf(f.card) }));
        }
        break;
      }
      case "taken_back":
        if (chat) {
          chat.ended = S.taken_back;
          chat.pending = {};
          if (chat.id === selected) renderPanel(); else renderTabs();
          announce(S.taken_back);
        }
        break;
      case "message":
        if (chat && addMessage(chat, f)) {
          if (f.from === "agent" && !chat.card.first_response_at) chat.card.first_response_at = f.at;
          if (f.from === "customer") {
            chat.typing = false;
            if (chat.id === selected && !document.hidden) {
              markRead(chat);
            } else {
              chat.unread += 1;
              announce(fill(S.new_message, { name: nameOf(chat.card) }));
            }
          }
          if (chat.id === selected) renderPanel(); else renderTabs();
        }
        break;
      case "ack":
        if (chat && chat.pending[f.client_id] !== undefined) {
          delete chat.pending[f.client_id];
          if (chat.id === selected) renderMessages();
          loadMessages(chat);
        }
        break;
      case "typing":
        if (chat) {
          chat.typing = !!f.on;
          if (chat.id === selected) $("ws-typing").textContent = chat.typing ? S.typing : "";
        }
        break;
      case "read":
        if (chat && f.by === "customer") {
          chat.customerRead = Math.max(chat.customerRead, f.seq);
          if (chat.id === selected) renderMessages();
        }
        break;
      case "idle_warning":
        if (chat) {
          chat.idle = true;
          if (chat.id === selected) renderPanel();
        }
        break;
      case "closed":
        removeOffer(f.chat);
        if (chat) {
          chat.ended = S.closed;
          chat.typing = false;
          chat.pending = {};
          if (chat.id === selected) renderPanel(); else renderTabs();
        }
        break;
      case "rated":
        if (chat) {
          chat.rated = f.score;
          if (chat.id === selected) renderPanel();
        }
        break;
      case "presence":
        presence.checked = f.status === "online";
        break;
      case "auto_accept":
        auto.checked = !!f.on;
        break;
      case "error":
        showError(f);
        break;
      default:
        break;
    }
  };

  // ----- the connection -----
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/agent";
  var connect = function () {
    setConn(S.connecting);
    greeted = false;
    var ws = new WebSocket(url);
    socket = ws;
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      handle(frame);
    };
    ws.onclose = function (event) {
      if (socket !== ws) return;
      var wasGreeted = greeted;
      socket = null;
      greeted = false;
      presence.disabled = true;
      auto.disabled = true;
      if (event.code === 4003) {
        setConn(S.session_ended);
        return;
      }
      // 4001: the session expired; a refused upgrade (an expired cookie) never greets.
      if (event.code === 4001 || !wasGreeted) {
        refreshSession().then(function (ok) {
          if (ok) schedule(); else sessionEnded();
        });
      } else {
        schedule();
      }
    };
  };
  var sessionEnded = function () {
    conn.replaceChildren(document.createTextNode(S.session_ended + " "));
    var link = el("a", "", "→");
    link.href = "/sign-in?next=/agent/chats";
    conn.appendChild(link);
  };
  var schedule = function () {
    var secs = Math.min(30, Math.pow(2, attempt));
    attempt += 1;
    var wait = secs * 1000 * (0.75 + Math.random() * 0.5);
    setConn(fill(S.reconnecting, { secs: Math.round(wait / 1000) }));
    setTimeout(connect, wait);
  };

  setInterval(function () {
    tickOffers();
    tickCountdown();
  }, 1000);
  setInterval(function () {
    if (greeted) send({ type: "ping" });
  }, 25000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && chats[selected]) {
      markRead(chats[selected]);
      renderTabs();
    }
  });
  renderOffers();
  renderTabs();
  connect();
})();

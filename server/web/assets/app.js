// Reference: OpenAI API reference, chat completions streaming (https://platform.openai.com/docs/api-reference/chat-streaming)
// and the WHATWG HTML "server-sent events" event-stream format (https://html.spec.whatwg.org/multipage/server-sent-events.html);
// the knowledge-base mode follows docs/rag.md "Server" (GET v1/kb, POST v1/kb/ask with stream: true).
//
// The chat page's logic. It is an ordinary OpenAI API client of the server
// that served it: GET v1/models fills the model picker, POST
// v1/chat/completions with stream: true streams the answer, read with
// fetch and a ReadableStream (EventSource cannot POST), and Stop aborts
// that fetch, which closes the connection so the server cancels the
// generation. The conversation, model and system prompt live in
// localStorage; nothing leaves this origin. Model output is only ever
// rendered through gptgoMarkdown.render (text nodes, never HTML).
//
// When the server has a knowledge base (GET v1/kb says enabled; without
// one the mode stays hidden), a selector sends questions to
// POST v1/kb/ask instead: the answer streams the same way, then the
// server's final event brings the numbered sources the model saw. The
// answer's [n] become links to a list of those sources (path, page,
// heading, text), all of it document text set as text nodes: a document
// holding "<script>" shows those characters. Knowledge-base turns are
// single questions: they are not sent as chat history.
(function () {
  'use strict';

  var STORE = 'gptgo.chat.v1', KEY_STORE = 'gptgo.apiKey';
  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    model: $('model'), system: $('system'), apiKey: $('api-key'), log: $('log'), empty: $('empty'),
    status: $('status'), form: $('composer'), prompt: $('prompt'), send: $('send'), stop: $('stop'),
    newChat: $('new-chat'), settings: $('settings'), settingsToggle: $('settings-toggle'),
    reload: $('reload-models'), mode: $('mode'), modePick: $('mode-pick')
  };

  // state is what survives a reload: messages are {role, content} plus,
  // for answers, stopped / error / stats, which are shown but not sent.
  var state = load();
  var controller = null; // the AbortController of the answer streaming now
  var kb = null;         // the server's knowledge base ({documents, chunks}), null when it has none
  var seq = 0;           // numbers the message bubbles, for the ids of their sources

  function load() {
    var s = null;
    try { s = JSON.parse(localStorage.getItem(STORE) || 'null'); } catch (e) { s = null; }
    if (!s || !Array.isArray(s.messages)) s = { model: '', system: '', messages: [], from: 0 };
    if (s.mode !== 'kb') s.mode = 'chat';
    s.messages = s.messages.filter(function (m) {
      return m && (m.role === 'user' || m.role === 'assistant') && typeof m.content === 'string';
    });
    if (!(s.from >= 0 && s.from <= s.messages.length)) s.from = 0;
    return s;
  }

  function save() {
    try { localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* full or disabled: keep going */ }
  }

  function headers() {
    var h = { 'Content-Type': 'application/json' };
    var k = ui.apiKey.value.trim();
    if (k) h.Authorization = 'Bearer ' + k;
    return h;
  }

  function api(path) { return new URL(path, document.baseURI).toString(); }

  function setStatus(msg, isError) {
    ui.status.textContent = msg || '';
    ui.status.classList.toggle('error', !!isError);
  }

  // readError reads an error response: OpenAI's {"error":{"message","code"}},
  // Ollama's {"error":"..."}, or the body as text; the promise gives
  // {code, text}.
  function readError(res) {
    return res.text().then(function (t) {
      var msg = t, code = '';
      try {
        var j = JSON.parse(t);
        msg = (j.error && (j.error.message || j.error)) || t;
        code = (j.error && j.error.code) || '';
      } catch (e) { /* not JSON */ }
      if (res.status === 401) msg += ' (set the API key in Settings)';
      return { code: code, text: 'HTTP ' + res.status + ': ' + String(msg).trim() };
    });
  }

  function errorText(res) {
    return readError(res).then(function (e) { return e.text; });
  }

  // ---- models ---------------------------------------------------------

  function loadModels() {
    setStatus('Loading models…');
    return fetch(api('v1/models'), { headers: headers() }).then(function (res) {
      if (!res.ok) return errorText(res).then(function (t) { throw new Error(t); });
      return res.json();
    }).then(function (j) {
      var ids = (j.data || []).map(function (m) { return String(m.id); }).sort();
      ui.model.textContent = '';
      ids.forEach(function (id) {
        var o = document.createElement('option');
        o.value = id;
        o.textContent = id;
        ui.model.appendChild(o);
      });
      if (!ids.length) throw new Error('the server lists no models');
      // The last model used, else gptgo's embedded one ("default:latest"
      // in the store's name:tag form), else the first.
      var def = ids.filter(function (id) { return id === 'default' || id === 'default:latest'; })[0];
      var want = ids.indexOf(state.model) >= 0 ? state.model : def || ids[0];
      ui.model.value = want;
      state.model = want;
      setStatus('');
    }).catch(function (e) {
      setStatus('Could not list models: ' + e.message, true);
      if (/401/.test(e.message)) openSettings(true);
    });
  }

  // ---- knowledge base ---------------------------------------------------

  // checkKB asks the server whether it has a knowledge base (GET v1/kb:
  // {"enabled", "documents", …}) and shows or hides the mode selector
  // accordingly; without one the page is the plain chat page.
  function checkKB() {
    return fetch(api('v1/kb'), { headers: headers() }).then(function (res) {
      if (!res.ok) return null;
      return res.json();
    }).catch(function () { return null; }).then(function (j) {
      kb = j && j.enabled === true && typeof j.documents === 'number' ? j : null;
      ui.modePick.hidden = !kb;
      document.documentElement.dataset.kb = kb ? 'ready' : 'none';
      if (kb) {
        var opt = ui.mode.querySelector('option[value="kb"]');
        opt.textContent = 'Knowledge base (' + kb.documents + (kb.documents === 1 ? ' document)' : ' documents)');
      }
      ui.mode.value = kb ? state.mode : 'chat';
      showMode();
    });
  }

  function kbMode() { return !!kb && ui.mode.value === 'kb'; }

  // showMode tells the mode in the message box (and to screen readers).
  function showMode() {
    var on = kbMode();
    ui.prompt.placeholder = on ? 'Ask the knowledge base: the answer cites its sources (Enter sends)' :
      'Send a message (Enter sends, Shift+Enter for a new line)';
    ui.form.classList.toggle('kb', on);
  }

  // clip returns s cut to at most n characters, on a space where one is near.
  function clip(s, n) {
    if (s.length <= n) return s;
    var cut = s.lastIndexOf(' ', n);
    return s.slice(0, cut > n * 0.7 ? cut : n) + '…';
  }

  // fillSources lists a knowledge-base answer's sources, numbered as the
  // model saw them, each with the id its [n] links point at. Everything
  // here came from documents (or from localStorage): text nodes only.
  function fillSources(art) {
    var m = art._m, box = art.querySelector('.sources');
    box.textContent = '';
    var list = Array.isArray(m.sources) ? m.sources : [];
    box.hidden = !list.length;
    if (!list.length) return;
    var cited = {};
    (Array.isArray(m.citations) ? m.citations : []).forEach(function (n) { cited[n] = true; });
    var h = document.createElement('h3');
    h.textContent = 'Sources';
    box.appendChild(h);
    var ol = document.createElement('ol');
    list.forEach(function (src, k) {
      src = src || {};
      var li = document.createElement('li');
      li.id = art.id + '-src-' + (k + 1);
      li.tabIndex = -1; // a citation link moves the focus here
      if (cited[k + 1]) li.className = 'cited';
      var where = document.createElement('div');
      where.className = 'src-where';
      var path = document.createElement('span');
      path.className = 'src-path';
      path.textContent = String(src.source || '');
      where.appendChild(path);
      if (src.page > 0) {
        var page = document.createElement('span');
        page.className = 'src-page';
        page.textContent = 'page ' + src.page;
        where.appendChild(page);
      }
      if (src.heading) {
        var head = document.createElement('span');
        head.className = 'src-heading';
        head.textContent = String(src.heading);
        where.appendChild(head);
      }
      li.appendChild(where);
      var text = String(src.text || '');
      var snip = document.createElement('p');
      snip.className = 'src-text';
      snip.textContent = clip(text, 280);
      li.appendChild(snip);
      if (text.length > 280) {
        var more = document.createElement('button');
        more.type = 'button';
        more.className = 'btn small more';
        more.textContent = 'Show all';
        more.setAttribute('aria-expanded', 'false');
        more.addEventListener('click', function () {
          var open = more.getAttribute('aria-expanded') !== 'true';
          snip.textContent = open ? text : clip(text, 280);
          more.textContent = open ? 'Show less' : 'Show all';
          more.setAttribute('aria-expanded', open ? 'true' : 'false');
        });
        li.appendChild(more);
      }
      ol.appendChild(li);
    });
    box.appendChild(ol);
  }

  // citeLink makes [n] of a knowledge-base answer a link to its source, or
  // a marked number when the answer names a source it was not given.
  function citeLink(art) {
    var n = Array.isArray(art._m.sources) ? art._m.sources.length : 0;
    return function (k) {
      if (!(k >= 1 && k <= n)) {
        var bad = document.createElement('span');
        bad.className = 'cite invalid';
        bad.title = 'No source ' + k + ' was given to the model';
        bad.textContent = String(k);
        return bad;
      }
      var a = document.createElement('a');
      a.className = 'cite';
      a.href = '#' + art.id + '-src-' + k;
      a.textContent = String(k);
      a.setAttribute('aria-label', 'source ' + k);
      return a;
    };
  }

  // ---- conversation view ----------------------------------------------

  function copyText(text, btn) {
    var done = function () {
      var old = btn.textContent;
      btn.textContent = 'Copied';
      setTimeout(function () { btn.textContent = old; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  }

  // fallbackCopy serves pages opened over plain http on another host,
  // where the async clipboard API is not available.
  function fallbackCopy(text) {
    var ta = document.createElement('textarea');
    ta.value = text;
    ta.className = 'offscreen';
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand('copy'); } catch (e) { /* nothing more to try */ }
    ta.remove();
  }

  function bubble(m) {
    var art = document.createElement('article');
    art.className = 'msg ' + m.role;
    var who = document.createElement('h2');
    who.className = 'who';
    who.textContent = m.role === 'user' ? (m.kb ? 'You, to the knowledge base' : 'You') :
      (m.kb ? 'Knowledge base · ' : '') + (m.model || 'Assistant');
    art.appendChild(who);
    var body = document.createElement('div');
    body.className = 'body';
    art.appendChild(body);
    var sources = document.createElement('section');
    sources.className = 'sources';
    sources.setAttribute('aria-label', 'Sources');
    sources.hidden = true;
    art.appendChild(sources);
    var foot = document.createElement('div');
    foot.className = 'foot';
    art.appendChild(foot);
    art._m = m;
    art.id = 'm' + (++seq);
    if (m.kb) art.classList.add('kb');
    fill(art);
    return art;
  }

  // fill (re)renders one message's body and footer from its state.
  function fill(art) {
    var m = art._m, body = art.querySelector('.body'), foot = art.querySelector('.foot');
    body.textContent = '';
    if (m.role === 'user') {
      body.textContent = m.content; // shown as typed (CSS keeps line breaks)
    } else if (m.kb && !m.streaming) {
      body.appendChild(window.gptgoMarkdown.render(m.content, { cite: citeLink(art) }));
    } else {
      body.appendChild(window.gptgoMarkdown.render(m.content));
    }
    if (m.kb && m.role === 'assistant') fillSources(art);
    foot.textContent = '';
    if (m.role !== 'assistant') return;
    if (m.error) {
      var err = document.createElement('p');
      err.className = 'error';
      err.textContent = m.error;
      foot.appendChild(err);
    }
    var note = document.createElement('span');
    note.className = 'note';
    var parts = [];
    if (m.streaming) parts.push('writing…');
    if (m.notFound) parts.push('not found in the documents');
    if (Array.isArray(m.invalid) && m.invalid.length) {
      parts.push('cites ' + m.invalid.map(function (n) { return '[' + n + ']'; }).join(' ') + ', which ' +
        (m.invalid.length === 1 ? 'is' : 'are') + ' no source');
    }
    if (m.stopped) parts.push('stopped');
    if (m.dropped) parts.push('the ' + (m.dropped === 1 ? 'oldest turn was' : m.dropped + ' oldest turns were') + ' left out to fit the context');
    if (m.finish === 'length') parts.push('cut at the token limit');
    if (m.stats) parts.push(m.stats);
    note.textContent = parts.join(' · ');
    foot.appendChild(note);
    if (!m.streaming && m.content) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn small copy';
      b.textContent = 'Copy';
      b.setAttribute('aria-label', 'Copy answer');
      b.dataset.copy = m.content;
      foot.appendChild(b);
    }
    art.classList.toggle('streaming', !!m.streaming);
  }

  function renderAll() {
    ui.log.textContent = '';
    ui.log.appendChild(ui.empty);
    ui.empty.hidden = state.messages.length > 0;
    state.messages.forEach(function (m) { ui.log.appendChild(bubble(m)); });
    markWindow();
    scrollDown(true);
  }

  function nearBottom() {
    var d = document.scrollingElement || document.documentElement;
    return d.scrollHeight - d.scrollTop - d.clientHeight < 120;
  }

  function scrollDown(force) {
    if (force || nearBottom()) window.scrollTo(0, document.body.scrollHeight);
  }

  function setBusy(busy) {
    ui.send.disabled = busy;
    ui.stop.disabled = !busy;
    ui.model.disabled = busy;
    ui.mode.disabled = busy;
    ui.log.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  // ---- streaming --------------------------------------------------------

  // sseEvents splits buf into complete events (blank-line separated) and
  // returns [events' data strings, the unfinished rest].
  function sseEvents(buf) {
    var out = [], idx;
    while ((idx = buf.search(/\r?\n\r?\n/)) >= 0) {
      var raw = buf.slice(0, idx), sep = /\r?\n\r?\n/.exec(buf.slice(idx))[0];
      buf = buf.slice(idx + sep.length);
      var data = [];
      raw.split(/\r?\n/).forEach(function (line) {
        if (line.slice(0, 5) === 'data:') data.push(line.slice(line[5] === ' ' ? 6 : 5));
      });
      if (data.length) out.push(data.join('\n'));
    }
    return [out, buf];
  }

  // readSSE reads the server-sent events of res until [DONE] or the end,
  // calling onData with each event's parsed JSON; an {"error": …} event
  // rejects the promise with its message.
  function readSSE(res, onData) {
    var reader = res.body.getReader(), dec = new TextDecoder(), buf = '';
    var pump = function () {
      return reader.read().then(function (r) {
        if (r.done) return;
        var got = sseEvents(buf + dec.decode(r.value, { stream: true }));
        buf = got[1];
        for (var k = 0; k < got[0].length; k++) {
          var data = got[0][k];
          if (data === '[DONE]') return;
          var j = JSON.parse(data);
          if (j.error) throw new Error(j.error.message || String(j.error));
          onData(j);
        }
        return pump();
      });
    };
    return pump();
  }

  // wireMessages is the system prompt and the messages [from, upto) of
  // the conversation, as the API takes them.
  function wireMessages(from, upto) {
    var msgs = [];
    var sys = ui.system.value.trim();
    if (sys) msgs.push({ role: 'system', content: sys });
    state.messages.slice(from, upto).forEach(function (m) {
      if (m.role === 'assistant' && !m.content) return; // an answer that failed before any text
      if (m.kb) return; // knowledge-base questions stand alone
      msgs.push({ role: m.role, content: m.content });
    });
    return msgs;
  }

  // nextTurn is the index of the first user message after from and
  // before upto, or -1: where the window starts once the oldest turn is
  // dropped.
  function nextTurn(from, upto) {
    for (var k = from + 1; k < upto; k++) if (state.messages[k].role === 'user') return k;
    return -1;
  }

  // markWindow shows which messages the model no longer sees: those before
  // state.from, dropped to fit its context.
  function markWindow() {
    var arts = ui.log.querySelectorAll('.msg');
    for (var k = 0; k < arts.length; k++) {
      var out = k < (state.from || 0);
      arts[k].classList.toggle('out', out);
      if (out) arts[k].title = 'Left out of what the model sees, to fit its context';
      else arts[k].removeAttribute('title');
    }
  }

  function ask(text) {
    var model = ui.model.value;
    if (!model) { setStatus('No model to talk to (see Settings, Reload models).', true); return; }
    setStatus('');
    var user = { role: 'user', content: text };
    state.messages.push(user);
    var upto = state.messages.length; // the new message is the last one sent
    var reply = { role: 'assistant', content: '', model: model, streaming: true };
    state.messages.push(reply);
    save();
    ui.empty.hidden = true;
    ui.log.appendChild(bubble(user));
    var art = bubble(reply);
    ui.log.appendChild(art);
    scrollDown(true);

    var ctrl = new AbortController();
    controller = ctrl;
    setBusy(true);
    var t0 = performance.now(), tFirst = 0, usage = null, pending = false, chunks = 0;
    var redraw = function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; fill(art); scrollDown(false); });
    };

    // post sends the conversation from message index from on. When the
    // server says it does not fit the model's context, the oldest turn is
    // dropped and the request sent again, as gptgo chat does; the answer
    // says how many turns were left out, and later questions start there.
    var post = function (from) {
      var body = JSON.stringify({
        model: model, messages: wireMessages(from, upto), stream: true, stream_options: { include_usage: true }
      });
      return fetch(api('v1/chat/completions'), { method: 'POST', headers: headers(), body: body, signal: ctrl.signal })
        .then(function (res) {
          if (res.ok) return { res: res, from: from };
          return readError(res).then(function (e) {
            var next = nextTurn(from, upto);
            if (e.code === 'context_length_exceeded' && next >= 0) return post(next);
            throw new Error(e.text);
          });
        });
    };
    var from0 = Math.min(state.from || 0, upto - 1);

    post(from0)
      .then(function (sent) {
        var res = sent.res;
        if (sent.from > from0) {
          var turns = state.messages.slice(from0, sent.from).filter(function (m) { return m.role === 'user'; }).length;
          reply.dropped = turns;
          state.from = sent.from;
          markWindow();
        }
        return readSSE(res, function (j) {
          if (j.usage) usage = j.usage;
          var c = j.choices && j.choices[0];
          if (!c) return;
          if (c.delta && typeof c.delta.content === 'string' && c.delta.content) {
            if (!tFirst) tFirst = performance.now();
            chunks++;
            reply.content += c.delta.content;
            redraw();
          }
          if (c.finish_reason) reply.finish = c.finish_reason;
        });
      })
      .catch(function (e) {
        if (e.name === 'AbortError') reply.stopped = true;
        else reply.error = e.message || String(e);
      })
      .then(function () {
        // New chat may have aborted this answer and started another one:
        // only the current answer's end frees the buttons.
        var current = controller === ctrl;
        if (current) controller = null;
        reply.streaming = false;
        var t1 = performance.now();
        if (tFirst) {
          var s = 'first token ' + Math.round(tFirst - t0) + ' ms';
          // Without usage (a stopped stream) each content chunk counts as
          // one token, which is what gptgo sends.
          var n = usage && usage.completion_tokens || chunks;
          if (n > 1 && t1 > tFirst) {
            s += ' · ' + (usage ? '' : '~') + n + ' tokens · ' + ((n - 1) / ((t1 - tFirst) / 1000)).toFixed(1) + ' tokens/s';
          }
          reply.stats = s;
        }
        save();
        fill(art);
        if (current) {
          setBusy(false);
          scrollDown(false);
          ui.prompt.focus();
        }
      });
  }

  // askKB sends text to the knowledge base (POST v1/kb/ask, streamed):
  // {"delta": …} events grow the answer, the final event (the whole
  // answer with its numbered sources) replaces it and brings the sources.
  function askKB(text) {
    var model = ui.model.value;
    if (!model) { setStatus('No model to answer with (see Settings, Reload models).', true); return; }
    setStatus('');
    var user = { role: 'user', content: text, kb: true };
    var reply = { role: 'assistant', content: '', model: model, kb: true, streaming: true };
    state.messages.push(user, reply);
    save();
    ui.empty.hidden = true;
    ui.log.appendChild(bubble(user));
    var art = bubble(reply);
    ui.log.appendChild(art);
    scrollDown(true);

    var ctrl = new AbortController();
    controller = ctrl;
    setBusy(true);
    var pending = false;
    var redraw = function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; fill(art); scrollDown(false); });
    };
    var body = JSON.stringify({ question: text, model: model, stream: true });
    fetch(api('v1/kb/ask'), { method: 'POST', headers: headers(), body: body, signal: ctrl.signal })
      .then(function (res) {
        if (!res.ok) return errorText(res).then(function (t) { throw new Error(t); });
        return readSSE(res, function (j) {
          if (typeof j.delta === 'string') {
            reply.content += j.delta;
            redraw();
          } else if (Array.isArray(j.sources)) {
            reply.content = String(j.answer || '');
            reply.sources = j.sources;
            reply.citations = Array.isArray(j.citations) ? j.citations : [];
            reply.invalid = Array.isArray(j.invalid_citations) ? j.invalid_citations : [];
            reply.notFound = !!j.not_found;
          }
        });
      })
      .catch(function (e) {
        if (e.name === 'AbortError') reply.stopped = true;
        else reply.error = e.message || String(e);
      })
      .then(function () {
        var current = controller === ctrl;
        if (current) controller = null;
        reply.streaming = false;
        save();
        fill(art);
        if (current) {
          setBusy(false);
          scrollDown(false);
          ui.prompt.focus();
        }
      });
  }

  // ---- wiring -----------------------------------------------------------

  function openSettings(open) {
    ui.settings.hidden = !open;
    ui.settingsToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) ui.apiKey.focus();
  }

  ui.form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = ui.prompt.value.trim();
    if (!text || controller) return;
    ui.prompt.value = '';
    if (kbMode()) askKB(text); else ask(text);
  });
  ui.prompt.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      ui.form.requestSubmit();
    }
  });
  ui.stop.addEventListener('click', function () { if (controller) controller.abort(); });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape' && controller) controller.abort();
  });
  ui.newChat.addEventListener('click', function () {
    if (controller) {
      controller.abort();
      controller = null; // the aborted answer's end leaves the new chat alone
      setBusy(false);
    }
    state.messages = [];
    state.from = 0;
    save();
    renderAll();
    setStatus('New chat started.');
    ui.prompt.focus();
  });
  ui.settingsToggle.addEventListener('click', function () { openSettings(ui.settings.hidden); });
  ui.model.addEventListener('change', function () { state.model = ui.model.value; save(); });
  ui.mode.addEventListener('change', function () {
    state.mode = ui.mode.value;
    save();
    showMode();
    ui.prompt.focus();
  });
  ui.system.addEventListener('input', function () { state.system = ui.system.value; save(); });
  ui.apiKey.addEventListener('change', function () {
    try { localStorage.setItem(KEY_STORE, ui.apiKey.value.trim()); } catch (e) { /* ignore */ }
    loadModels().then(checkKB);
  });
  ui.reload.addEventListener('click', function () { loadModels().then(checkKB); });
  // One listener serves every copy button, those inside rendered code too.
  ui.log.addEventListener('click', function (ev) {
    var b = ev.target.closest('button.copy');
    if (b && b.dataset.copy !== undefined) copyText(b.dataset.copy, b);
  });

  ui.system.value = state.system || '';
  try { ui.apiKey.value = localStorage.getItem(KEY_STORE) || ''; } catch (e) { /* ignore */ }
  renderAll();
  setBusy(false);
  loadModels().then(checkKB);
  ui.prompt.focus();
})();

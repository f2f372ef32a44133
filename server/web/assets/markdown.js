// Reference: CommonMark 0.31 (https://spec.commonmark.org/0.31.2/) and GitHub Flavored Markdown
// (tables, strikethrough), the subset models write: fenced code, headings, lists, quotes, rules,
// tables, code spans, emphasis, links; and the [n] citations of knowledge-base answers.
//
// A small Markdown renderer for model output. It never hands text to the
// HTML parser (no HTML-string properties or parsing calls): every piece of output
// becomes a text node or an element made with createElement, so "<script>"
// or "<img onerror=...>" in a model's answer is shown as those characters.
// Links are kept only for http:, https: and mailto: URLs. It is forgiving
// by design: the answer is re-rendered while it streams, so an unclosed
// fence or emphasis shows as what it is so far.
(function () {
  'use strict';

  var fenceRe = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;
  var headingRe = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
  var ruleRe = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
  var quoteRe = /^ {0,3}> ?/;
  var itemRe = /^( {0,3})([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
  var tableSepRe = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // cite, while render runs with opts.cite, makes the node for citation
  // number n of a knowledge-base answer ("[1]", "[2, 3]"), or returns
  // null to leave that number as text.
  var cite = null;

  // render returns a DocumentFragment for the Markdown text src. With
  // opts.cite, bracketed numbers that are not link text become what
  // opts.cite(n) returns.
  function render(src, opts) {
    var frag = document.createDocumentFragment();
    cite = opts && typeof opts.cite === 'function' ? opts.cite : null;
    try {
      blocks(String(src).replace(/\r\n?/g, '\n').split('\n'), frag);
    } finally {
      cite = null;
    }
    return frag;
  }

  // citation appends "[n, m]" with each number as cite(n) makes it.
  function citation(nums, parent) {
    parent.appendChild(document.createTextNode('['));
    nums.split(',').forEach(function (raw, k) {
      var n = parseInt(raw, 10);
      if (k > 0) parent.appendChild(document.createTextNode(', '));
      parent.appendChild(cite(n) || document.createTextNode(String(n)));
    });
    parent.appendChild(document.createTextNode(']'));
  }

  function startsBlock(line) {
    return fenceRe.test(line) || headingRe.test(line) || ruleRe.test(line) ||
      quoteRe.test(line) || itemRe.test(line);
  }

  // depth counts nested blocks and inline spans; past maxDepth the rest is
  // shown as plain text, so that ">>>>…" or "*_*_…" cannot exhaust the stack.
  var depth = 0, maxDepth = 32;

  // blocks appends the block elements of lines to parent.
  function blocks(lines, parent) {
    if (depth >= maxDepth) { parent.appendChild(document.createTextNode(lines.join('\n'))); return; }
    depth++;
    try { blocksAt(lines, parent); } finally { depth--; }
  }

  function blocksAt(lines, parent) {
    var i = 0, m;
    while (i < lines.length) {
      var line = lines[i];
      if (/^\s*$/.test(line)) { i++; continue; }
      if ((m = fenceRe.exec(line))) {
        var fence = m[1], body = [];
        var close = new RegExp('^ {0,3}' + fence[0] + '{' + fence.length + ',}\\s*$');
        for (i++; i < lines.length && !close.test(lines[i]); i++) body.push(lines[i]);
        i++; // the closing fence (or the end, while streaming)
        parent.appendChild(codeBlock(body.join('\n'), m[2]));
        continue;
      }
      if ((m = headingRe.exec(line))) {
        var h = el('h' + m[1].length);
        inline(m[2] || '', h);
        parent.appendChild(h);
        i++;
        continue;
      }
      if (ruleRe.test(line)) { parent.appendChild(el('hr')); i++; continue; }
      if (quoteRe.test(line)) {
        var q = [];
        for (; i < lines.length && quoteRe.test(lines[i]); i++) q.push(lines[i].replace(quoteRe, ''));
        var bq = el('blockquote');
        blocks(q, bq);
        parent.appendChild(bq);
        continue;
      }
      if ((m = itemRe.exec(line))) { i = list(lines, i, parent); continue; }
      if (line.indexOf('|') >= 0 && i + 1 < lines.length && tableSepRe.test(lines[i + 1]) &&
          lines[i + 1].indexOf('-') >= 0) {
        i = table(lines, i, parent);
        continue;
      }
      var para = [line];
      for (i++; i < lines.length && !/^\s*$/.test(lines[i]) && !startsBlock(lines[i]); i++) para.push(lines[i]);
      var p = el('p');
      para.forEach(function (t, k) {
        if (k > 0) p.appendChild(el('br'));
        inline(t.replace(/^\s+/, ''), p);
      });
      parent.appendChild(p);
    }
  }

  // list renders the list starting at lines[i] and returns the next line.
  // An item owns the lines indented under it, rendered as blocks (so nested
  // lists work); a blank line between items keeps the list going.
  function list(lines, i, parent) {
    var first = itemRe.exec(lines[i]);
    var ordered = /\d/.test(first[2]);
    var lst = el(ordered ? 'ol' : 'ul');
    if (ordered && parseInt(first[2], 10) !== 1) lst.start = parseInt(first[2], 10);
    while (i < lines.length) {
      var m = itemRe.exec(lines[i]);
      if (!m || /\d/.test(m[2]) !== ordered) break;
      var indent = m[1].length + m[2].length + 1, body = [m[3]];
      for (i++; i < lines.length; i++) {
        var l = lines[i];
        if (/^\s*$/.test(l)) {
          var next = lines[i + 1];
          if (next !== undefined && /^\s{2,}\S/.test(next)) { body.push(''); continue; }
          break;
        }
        if (/^\s{2,}\S/.test(l) || !startsBlock(l) && !itemRe.test(l)) {
          body.push(l.replace(new RegExp('^ {0,' + indent + '}'), ''));
          continue;
        }
        break;
      }
      while (i < lines.length && /^\s*$/.test(lines[i]) && lines[i + 1] !== undefined && itemRe.test(lines[i + 1])) i++;
      var li = el('li');
      if (body.length === 1) inline(body[0], li); else blocks(body, li);
      lst.appendChild(li);
    }
    parent.appendChild(lst);
    return i;
  }

  function cells(line) {
    var s = line.trim().replace(/^\|/, '').replace(/\|$/, '');
    var out = [], cur = '';
    for (var k = 0; k < s.length; k++) {
      if (s[k] === '\\' && s[k + 1] === '|') { cur += '|'; k++; continue; }
      if (s[k] === '|') { out.push(cur.trim()); cur = ''; continue; }
      cur += s[k];
    }
    out.push(cur.trim());
    return out;
  }

  function table(lines, i, parent) {
    var head = cells(lines[i]);
    var aligns = cells(lines[i + 1]).map(function (c) {
      var l = c[0] === ':', r = c[c.length - 1] === ':';
      return l && r ? 'center' : r ? 'right' : l ? 'left' : '';
    });
    var wrap = el('div', 'table-wrap'), t = el('table'), thead = el('thead'), tr = el('tr');
    head.forEach(function (c, k) {
      var th = el('th');
      if (aligns[k]) th.style.textAlign = aligns[k];
      inline(c, th);
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    t.appendChild(thead);
    var tbody = el('tbody');
    for (i += 2; i < lines.length && lines[i].indexOf('|') >= 0 && !/^\s*$/.test(lines[i]); i++) {
      var row = el('tr');
      cells(lines[i]).slice(0, head.length).forEach(function (c, k) {
        var td = el('td');
        if (aligns[k]) td.style.textAlign = aligns[k];
        inline(c, td);
        row.appendChild(td);
      });
      tbody.appendChild(row);
    }
    t.appendChild(tbody);
    wrap.appendChild(t);
    parent.appendChild(wrap);
    return i;
  }

  // codeBlock is a fenced block: a bar with the language and a copy
  // button, then the code as one text node.
  function codeBlock(code, lang) {
    var fig = el('figure', 'code');
    var bar = el('figcaption', 'code-bar');
    bar.appendChild(el('span', 'lang', lang || 'text'));
    var btn = el('button', 'btn small copy', 'Copy');
    btn.type = 'button';
    btn.setAttribute('aria-label', 'Copy code' + (lang ? ' (' + lang + ')' : ''));
    btn.dataset.copy = code;
    bar.appendChild(btn);
    fig.appendChild(bar);
    var pre = el('pre'), c = el('code', null, code);
    if (lang) c.dataset.lang = lang;
    pre.appendChild(c);
    fig.appendChild(pre);
    return fig;
  }

  function safeURL(u) {
    u = u.trim();
    return /^(https?:\/\/|mailto:)[^\s]+$/i.test(u) ? u : null;
  }

  function link(href, parent) {
    var a = el('a');
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    parent.appendChild(a);
    return a;
  }

  // inline appends the inline content of s to parent: code spans, strong,
  // emphasis, strikethrough, links and autolinks; everything else is text.
  function inline(s, parent) {
    if (depth >= maxDepth) { parent.appendChild(document.createTextNode(s)); return; }
    depth++;
    try { inlineAt(s, parent); } finally { depth--; }
  }

  function inlineAt(s, parent) {
    var text = '';
    function flush() {
      if (text) { parent.appendChild(document.createTextNode(text)); text = ''; }
    }
    var i = 0;
    while (i < s.length) {
      var ch = s[i], m, end;
      if (ch === '\\' && i + 1 < s.length && /[!-\/:-@\[-`{-~]/.test(s[i + 1])) {
        text += s[i + 1];
        i += 2;
        continue;
      }
      if (ch === '`') {
        m = /^`+/.exec(s.slice(i))[0];
        end = s.indexOf(m, i + m.length);
        while (end >= 0 && s[end + m.length] === '`') end = s.indexOf(m, end + m.length + 1);
        if (end > 0) {
          flush();
          var code = s.slice(i + m.length, end);
          if (/^ .* $/.test(code) && code.trim()) code = code.slice(1, -1);
          parent.appendChild(el('code', null, code));
          i = end + m.length;
          continue;
        }
        text += m;
        i += m.length;
        continue;
      }
      if ((ch === '*' || ch === '_' || ch === '~') && (m = delimited(s, i))) {
        flush();
        var e = el(m.tag);
        inline(m.inner, e);
        parent.appendChild(e);
        i = m.end;
        continue;
      }
      if (ch === '[' && (m = /^\[((?:[^\[\]\\]|\\.)*)\]\(\s*<?((?:[^\s()<>]|\([^\s()<>]*\))*)>?(?:\s+"[^"]*")?\s*\)/.exec(s.slice(i)))) {
        var href = safeURL(m[2]);
        flush();
        if (href) {
          inline(m[1], link(href, parent));
        } else {
          inline(m[1], parent);
        }
        i += m[0].length;
        continue;
      }
      // rag's citation syntax (rag.Citations): [n] or [n, m, …]
      if (ch === '[' && cite && (m = /^\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\]/.exec(s.slice(i)))) {
        flush();
        citation(m[1], parent);
        i += m[0].length;
        continue;
      }
      if ((ch === 'h' || ch === 'H') && (i === 0 || /[\s(]/.test(s[i - 1])) &&
          (m = /^https?:\/\/[^\s<>]*[^\s<>.,;:!?)'"*_~]/i.exec(s.slice(i)))) {
        flush();
        link(m[0], parent).textContent = m[0];
        i += m[0].length;
        continue;
      }
      text += ch;
      i++;
    }
    flush();
  }

  // delimited matches **strong**, __strong__, *em*, _em_ or ~~del~~ at
  // s[i], the closing run being the next one not preceded by a space.
  // Underscores only count at word boundaries (snake_case stays as is).
  function delimited(s, i) {
    var ch = s[i];
    var n = s[i + 1] === ch ? 2 : 1;
    if (ch === '~' && n !== 2) return null;
    if (s[i + n] === undefined || /\s/.test(s[i + n])) return null;
    if (ch === '_' && i > 0 && /\w/.test(s[i - 1])) return null;
    var d = ch === '*' ? (n === 2 ? '**' : '*') : ch === '_' ? (n === 2 ? '__' : '_') : '~~';
    for (var j = s.indexOf(d, i + n + 1); j >= 0; j = s.indexOf(d, j + 1)) {
      if (/\s/.test(s[j - 1])) continue;
      if (n === 1 && s[j + 1] === ch) { j++; continue; }
      if (ch === '_' && s[j + n] !== undefined && /\w/.test(s[j + n])) continue;
      return { tag: ch === '~' ? 'del' : n === 2 ? 'strong' : 'em', inner: s.slice(i + n, j), end: j + n };
    }
    return null;
  }

  window.gptgoMarkdown = { render: render };
})();

// A small Markdown renderer for model replies. Model output is untrusted: every character of
// it is HTML-escaped before any markup is added, and links keep only http(s) targets, so a
// reply cannot inject elements, attributes or script (the page's Content-Security-Policy
// forbids inline script as a second line of defence).
"use strict";

const Markdown = (() => {
  const escapeHTML = (text) => text.replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  // Inline spans of one escaped line: code first (its content is left alone), then links,
  // bold and italic.
  function inline(escaped) {
    const codes = [];
    let text = escaped.replace(/`([^`]+)`/g, (_, code) => {
      codes.push(code);
      return `\u0000${codes.length - 1}\u0000`;
    });
    text = text.replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g,
      (_, label, url) => `<a href="${url}" target="_blank" rel="noopener noreferrer">${label}</a>`);
    text = text.replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>");
    text = text.replace(/(^|[^*\w])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>");
    return text.replace(/\u0000(\d+)\u0000/g, (_, i) => `<code>${codes[Number(i)]}</code>`);
  }

  // Block structure of text outside code fences: headings, lists, quotes, rules, paragraphs.
  function blocks(text) {
    const out = [];
    let list = null;       // "ul" or "ol" while inside a list
    let paragraph = [];
    const flushParagraph = () => {
      if (paragraph.length) out.push(`<p>${paragraph.map(inline).join("<br>")}</p>`);
      paragraph = [];
    };
    const closeList = () => { if (list) out.push(`</${list}>`); list = null; };
    for (const raw of text.split("\n")) {
      const line = escapeHTML(raw);
      let m;
      if (!raw.trim()) { flushParagraph(); closeList(); continue; }
      if ((m = /^(#{1,6})\s+(.*)$/.exec(line))) {
        flushParagraph(); closeList();
        out.push(`<h${m[1].length}>${inline(m[2])}</h${m[1].length}>`);
      } else if ((m = /^\s*[-*+]\s+(.*)$/.exec(line)) || (m = /^\s*\d+[.)]\s+(.*)$/.exec(line))) {
        flushParagraph();
        const kind = /^\s*\d/.test(line) ? "ol" : "ul";
        if (list !== kind) { closeList(); out.push(`<${kind}>`); list = kind; }
        out.push(`<li>${inline(m[1])}</li>`);
      } else if ((m = /^&gt;\s?(.*)$/.exec(line))) {
        flushParagraph(); closeList();
        out.push(`<blockquote>${inline(m[1])}</blockquote>`);
      } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(raw)) {
        flushParagraph(); closeList();
        out.push("<hr>");
      } else {
        closeList();
        paragraph.push(line);
      }
    }
    flushParagraph(); closeList();
    return out.join("");
  }

  // Fenced code blocks (``` or ~~~, with an optional language); an unclosed fence, as while a
  // reply is still streaming, runs to the end of the text.
  function render(text) {
    const out = [];
    const fence = /^(```|~~~)\s*([\w+.-]*)\s*$/;
    let prose = [], code = null, language = "", marker = "";
    for (const line of text.split("\n")) {
      const m = fence.exec(line);
      if (code === null && m) {
        out.push(blocks(prose.join("\n"))); prose = [];
        code = []; language = m[2]; marker = m[1];
      } else if (code !== null && line.trim() === marker) {
        out.push(codeBlock(code, language)); code = null;
      } else if (code !== null) {
        code.push(line);
      } else {
        prose.push(line);
      }
    }
    if (code !== null) out.push(codeBlock(code, language));
    out.push(blocks(prose.join("\n")));
    return out.join("");
  }

  function codeBlock(lines, language) {
    const cls = language ? ` class="language-${escapeHTML(language)}"` : "";
    return `<pre><code${cls}>${escapeHTML(lines.join("\n"))}</code></pre>`;
  }

  return { render, escapeHTML };
})();

// The chat page: conversations kept in this browser (localStorage), replies streamed from the
// server's own OpenAI route (/v1/chat/completions with stream: true), one request at a time.
"use strict";

const $ = (id) => document.getElementById(id);
const store = {
  load(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
  },
  save(key, value) { localStorage.setItem(key, JSON.stringify(value)); },
};

// conversations: [{ id, title, updated, messages: [{ role, content, reasoning?, note? }] }]
let conversations = store.load("swiftlm.conversations", []);
let currentId = store.load("swiftlm.current", null);
let apiKey = store.load("swiftlm.apiKey", null);
let modelName = null;
let contextLength = null;
let generation = null;   // { controller, message } while a reply streams

const current = () => conversations.find((c) => c.id === currentId) ?? null;
const persist = () => { store.save("swiftlm.conversations", conversations); store.save("swiftlm.current", currentId); };

function headers() {
  const h = { "Content-Type": "application/json" };
  if (apiKey) h.Authorization = `Bearer ${apiKey}`;
  return h;
}

// ---- model and context --------------------------------------------------------------------

async function loadModelInfo() {
  try {
    const health = await (await fetch("/health")).json();
    contextLength = health.context_length ?? null;
    const response = await fetch("/v1/models", { headers: headers() });
    if (response.status === 401) { askForKey(); return; }
    const models = await response.json();
    modelName = models.data?.[0]?.id ?? health.model ?? "model";
  } catch (error) {
    showError(`cannot reach the server: ${error.message}`);
  }
  $("model-name").textContent = modelName ?? "…";
}

function showContextUse(tokens) {
  $("context-use").textContent = contextLength ? `context ${tokens} / ${contextLength}` : `context ${tokens}`;
}

function askForKey() {
  $("key-form").hidden = false;
  $("api-key").focus();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  apiKey = $("api-key").value.trim() || null;
  store.save("swiftlm.apiKey", apiKey);
  $("key-form").hidden = true;
  hideError();
  loadModelInfo();
});

// ---- settings -----------------------------------------------------------------------------

const settingFields = { system: "system-prompt", temperature: "temperature", top_p: "top-p",
                        max_tokens: "max-tokens", seed: "seed" };
function restoreSettings() {
  const saved = store.load("swiftlm.settings", {});
  for (const [key, id] of Object.entries(settingFields)) {
    if (saved[key] !== undefined) $(id).value = saved[key];
    $(id).addEventListener("change", saveSettings);
  }
}
function saveSettings() {
  const values = {};
  for (const [key, id] of Object.entries(settingFields)) values[key] = $(id).value;
  store.save("swiftlm.settings", values);
}
function samplingFields() {
  const fields = {};
  const number = (id) => ($(id).value === "" ? null : Number($(id).value));
  if (number("temperature") !== null) fields.temperature = number("temperature");
  if (number("top-p") !== null) fields.top_p = number("top-p");
  if (number("max-tokens") !== null) fields.max_tokens = number("max-tokens");
  if (number("seed") !== null) fields.seed = number("seed");
  return fields;
}

// ---- conversations list -------------------------------------------------------------------

function renderList() {
  const list = $("conversations");
  list.replaceChildren();
  for (const conversation of [...conversations].sort((a, b) => b.updated - a.updated)) {
    const item = document.createElement("li");
    if (conversation.id === currentId) item.className = "current";
    const title = document.createElement("span");
    title.className = "title";
    title.textContent = conversation.title || "New chat";
    title.addEventListener("click", () => { if (!generation) { currentId = conversation.id; persist(); renderAll(); } });
    const remove = document.createElement("button");
    remove.className = "delete";
    remove.title = "Delete this conversation";
    remove.textContent = "✕";
    remove.addEventListener("click", () => deleteConversation(conversation.id));
    item.append(title, remove);
    list.append(item);
  }
}

function deleteConversation(id) {
  if (generation && currentId === id) generation.controller.abort();
  conversations = conversations.filter((c) => c.id !== id);
  if (currentId === id) currentId = null;
  persist();
  renderAll();
}

$("new-chat").addEventListener("click", () => {
  if (generation) return;
  currentId = null;
  persist();
  renderAll();
  $("prompt").focus();
});

// ---- messages -----------------------------------------------------------------------------

function renderMessages() {
  const box = $("messages");
  box.replaceChildren();
  const conversation = current();
  if (!conversation) return;
  conversation.messages.forEach((message, index) => box.append(messageElement(message, index, conversation)));
  box.scrollTop = box.scrollHeight;
}

function messageElement(message, index, conversation) {
  const element = document.createElement("div");
  element.className = `message ${message.role}`;
  const role = document.createElement("div");
  role.className = "role";
  role.textContent = message.role === "user" ? "You" : (modelName ?? "assistant");
  const body = document.createElement("div");
  body.className = "content";
  fillContent(body, message);
  element.append(role, body);
  const last = index === conversation.messages.length - 1;
  const lastUser = message.role === "user" && conversation.messages.slice(index + 1).every((m) => m.role !== "user");
  if (!generation && ((message.role === "assistant" && last) || lastUser)) {
    const actions = document.createElement("div");
    actions.className = "actions";
    if (message.role === "assistant") actions.append(actionButton("Regenerate", "regenerate", regenerate));
    else actions.append(actionButton("Edit", "edit", () => editLastUserMessage(index)));
    element.append(actions);
  }
  return element;
}

function actionButton(label, name, handler) {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.action = name;
  button.textContent = label;
  button.addEventListener("click", handler);
  return button;
}

// User text is shown as typed (textContent); assistant text goes through the escaping
// Markdown renderer.
function fillContent(body, message) {
  body.replaceChildren();
  if (message.reasoning) body.append(thinkingElement(message));
  const text = document.createElement("div");
  text.className = "text";
  if (message.role === "user") text.textContent = message.content;
  else text.innerHTML = Markdown.render(message.content);
  body.append(text);
  if (message.note) {
    const note = document.createElement("div");
    note.className = "note";
    note.textContent = message.note;
    body.append(note);
  }
}

// A reasoning model's thoughts (reasoning_content), apart from the answer and folded: open
// while the model is still thinking, closed once the answer starts, then as the reader leaves
// it. The state lives outside the message (not stored) because each redraw rebuilds the element.
const thinkingOpen = new WeakMap();
function thinkingElement(message) {
  const thinking = document.createElement("details");
  thinking.className = "thinking";
  const stillThinking = generation?.message === message && !message.content;
  thinking.open = thinkingOpen.get(message) ?? stillThinking;
  const summary = document.createElement("summary");
  summary.textContent = stillThinking ? "Thinking…" : "Thoughts";
  const text = document.createElement("div");
  text.className = "reasoning";
  text.textContent = message.reasoning;
  thinking.append(summary, text);
  // The reader's own choice (a click, before the element toggles) outlives the redraws.
  summary.addEventListener("click", () => thinkingOpen.set(message, !thinking.open));
  return thinking;
}

function renderAll() {
  renderList();
  renderMessages();
  $("send").hidden = !!generation;
  $("stop").hidden = !generation;
}

function editLastUserMessage(index) {
  const conversation = current();
  $("prompt").value = conversation.messages[index].content;
  conversation.messages = conversation.messages.slice(0, index);
  persist();
  renderAll();
  $("prompt").focus();
}

function regenerate() {
  const conversation = current();
  if (conversation.messages.at(-1)?.role === "assistant") conversation.messages.pop();
  persist();
  reply(conversation);
}

// ---- sending and streaming ----------------------------------------------------------------

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("prompt").value.trim();
  if (!text || generation) return;
  let conversation = current();
  if (!conversation) {
    conversation = { id: crypto.randomUUID?.() ?? String(Date.now()), title: text.slice(0, 60), messages: [], updated: Date.now() };
    conversations.push(conversation);
    currentId = conversation.id;
  }
  conversation.messages.push({ role: "user", content: text });
  $("prompt").value = "";
  persist();
  reply(conversation);
});

$("prompt").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});

$("stop").addEventListener("click", () => generation?.controller.abort());

async function reply(conversation) {
  hideError();
  const message = { role: "assistant", content: "" };
  const messages = [];
  const system = $("system-prompt").value.trim();
  if (system) messages.push({ role: "system", content: system });
  for (const m of conversation.messages) messages.push({ role: m.role, content: m.content });
  conversation.messages.push(message);
  conversation.updated = Date.now();
  generation = { controller: new AbortController(), message };
  renderAll();
  let scheduled = false;
  // Looked up at each frame: a redraw of the list (a conversation deleted meanwhile) replaces
  // the message's element.
  const redraw = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      const body = document.querySelector("#messages .message:last-child .content");
      if (currentId !== conversation.id || !body) return;
      fillContent(body, message);
      $("messages").scrollTop = $("messages").scrollHeight;
    });
  };
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(), signal: generation.controller.signal,
      body: JSON.stringify({ model: modelName ?? "default", messages, stream: true,
                             stream_options: { include_usage: true }, ...samplingFields() }),
    });
    if (response.status === 401) { askForKey(); throw new Error("the server needs an API key"); }
    if (!response.ok) throw new Error(await errorText(response));
    await readEvents(response, (chunk) => {
      const delta = chunk.choices?.[0]?.delta ?? {};
      if (delta.content) message.content += delta.content;
      if (delta.reasoning_content) message.reasoning = (message.reasoning ?? "") + delta.reasoning_content;
      const finish = chunk.choices?.[0]?.finish_reason;
      if (finish === "length") message.note = "stopped at the token limit";
      if (chunk.usage) showContextUse(chunk.usage.total_tokens);
      if (chunk.timings?.predicted_per_second) $("speed").textContent = `${chunk.timings.predicted_per_second.toFixed(1)} tokens/s`;
      if (chunk.error) throw new Error(chunk.error.message ?? JSON.stringify(chunk.error));
      redraw();
    });
  } catch (error) {
    if (error.name === "AbortError") message.note = "stopped";
    else { message.note = "failed"; showError(error.message); }
  } finally {
    generation = null;
    if (!message.content && message.note === "failed") conversation.messages.pop();
    persist();
    renderAll();
  }
}

// Server-sent events: "data: {json}" lines separated by blank lines, ending with "data: [DONE]".
async function readEvents(response, onChunk) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        onChunk(JSON.parse(data));
      }
    }
  }
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error?.message ?? JSON.stringify(body);
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function showError(text) { $("error").textContent = text; $("error").hidden = false; }
function hideError() { $("error").hidden = true; }

restoreSettings();
renderAll();
loadModelInfo().then(renderMessages);

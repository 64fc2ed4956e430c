// A small flow against a live server: create a group, send a message, list
// it back, react to it. Run with CHAT_URL and CHAT_TOKEN set; exits non-zero
// (with the server's error envelope) when a step fails.
import { chatClient } from "./client.js";

const baseUrl = process.env.CHAT_URL ?? "http://127.0.0.1:8080";
const token = process.env.CHAT_TOKEN;
if (!token) {
  throw new Error("set CHAT_TOKEN (cargo run -p chat-server -- dev-token)");
}
const chat = chatClient(baseUrl, token);

function fail(step: string, error: unknown): never {
  console.error(`${step} failed:`, JSON.stringify(error));
  process.exit(1);
}

const created = await chat.POST("/chat/conversations/create", {
  body: { kind: "group", name: "typescript example", metadata: { source: "example", tags: ["ts"] } },
});
if (!created.data) fail("createConversation", created.error);
const conversationId = created.data.id;

const sent = await chat.POST("/chat/messages/send", {
  body: { conversationId, content: "hello from TypeScript", clientMsgId: `ts-${Date.now()}` },
});
if (!sent.data) fail("sendMessage", sent.error);

const listed = await chat.POST("/chat/messages/list", {
  body: { conversationId, anchor: "newest", limit: 10 },
});
if (!listed.data) fail("listMessages", listed.error);
const newest = listed.data.data.at(-1);

const reacted = await chat.POST("/chat/messages/{id}/reactions/toggle", {
  params: { path: { id: sent.data.id } },
  body: { emoji: "👍" },
});
if (!reacted.data) fail("toggleReaction", reacted.error);

console.log(
  JSON.stringify({
    conversationId,
    kind: created.data.kind,
    metadata: created.data.metadata,
    sentId: sent.data.id,
    listedContent: newest?.content ?? null,
    thumbsUp: reacted.data.reactionCounts["👍"] ?? 0,
  }),
);

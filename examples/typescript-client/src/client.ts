// A typed client for the chat API: every path, body and response below is
// checked against docs/openapi.json by the compiler (see `npm run build`).
import createClient from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type Message = components["schemas"]["MessageDto"];
export type Conversation = components["schemas"]["ConversationDto"];
export type RealtimeEvent = components["schemas"]["RealtimeEvent"];
export type ApiError = components["schemas"]["Error"];

/** A client for `baseUrl` that sends `token` as the bearer on every call. */
export function chatClient(baseUrl: string, token: string) {
  return createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${token}` },
  });
}

/** What a realtime handler looks like: `type` narrows `data`. */
export function describe(event: RealtimeEvent): string {
  switch (event.type) {
    case "message.created":
    case "message.updated":
    case "message.deleted":
      return `${event.type} ${event.data.id}: ${event.data.content}`;
    case "reaction.updated":
      return `${event.data.emoji} x${event.data.reactionCounts[event.data.emoji] ?? 0}`;
    case "typing":
      return `${event.data.userId} is typing`;
    default:
      return event.type;
  }
}

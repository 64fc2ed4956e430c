// Catching up after a disconnect (docs/catching-up.md): follow each stream
// by `eventSeq`, let Centrifugo recover short gaps, and read the event lists
// (or reload) for anything longer. Compiled in CI with the rest of the
// example, so it stays true to the API.
import { Centrifuge } from "centrifuge";
import type { Subscription } from "centrifuge";

import type { RealtimeEvent } from "./client.js";
import { chatClient } from "./client.js";

type Api = ReturnType<typeof chatClient>;

/** What the app does; positions and catching up are this module's. */
export interface Screens {
  /** Shows one event (a message, a reaction, a rename, ...). */
  apply(event: RealtimeEvent): void;
  /** Reloads a conversation (get + list-messages); returns its lastEventSeq. */
  reloadConversation(conversationId: string): Promise<number>;
  /** Drops a conversation the user left or lost. */
  forgetConversation(conversationId: string): void;
  /** Reloads the whole sidebar; returns each conversation's lastEventSeq. */
  reloadSidebar(): Promise<Map<string, number>>;
}

export class CatchUp {
  /** The last applied eventSeq of each conversation shown. */
  private readonly positions = new Map<string, number>();
  private personalEventSeq = 0;
  private syncCursor: string | undefined;
  /** One thing at a time: events and catch-ups apply in order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: Api,
    private readonly screens: Screens,
  ) {}

  /** Follows a conversation the app loaded at `lastEventSeq`. */
  track(conversationId: string, lastEventSeq: number): void {
    this.positions.set(conversationId, lastEventSeq);
  }

  /** A publication on `chat:<id>`. */
  onConversationEvent(event: RealtimeEvent): void {
    this.enqueue(async () => {
      if (!("eventSeq" in event)) {
        this.screens.apply(event); // typing: not numbered
        return;
      }
      const at = this.positions.get(event.conversationId);
      if (at === undefined || event.eventSeq <= at) return; // not shown, or already applied
      if (event.eventSeq === at + 1) {
        this.positions.set(event.conversationId, event.eventSeq);
        this.screens.apply(event);
        return;
      }
      await this.catchUpConversation(event.conversationId); // a gap
    });
  }

  /** A publication on `personal:<you>`. */
  onPersonalEvent(event: RealtimeEvent): void {
    this.enqueue(async () => {
      if (!("eventSeq" in event)) {
        this.screens.apply(event); // unread.updated: not numbered
        return;
      }
      if (event.eventSeq <= this.personalEventSeq) return;
      if (event.eventSeq === this.personalEventSeq + 1) {
        this.personalEventSeq = event.eventSeq;
        await this.applyPersonal(event);
        return;
      }
      await this.catchUpEverything();
    });
  }

  /** After a reconnect Centrifugo could not recover, or a long sleep. */
  catchUp(): void {
    this.enqueue(() => this.catchUpEverything());
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work, work);
  }

  private async applyPersonal(event: RealtimeEvent): Promise<void> {
    switch (event.type) {
      case "conversation.added":
        this.track(event.conversationId, await this.screens.reloadConversation(event.conversationId));
        break;
      case "conversation.removed":
        this.positions.delete(event.conversationId);
        this.screens.forgetConversation(event.conversationId);
        break;
      default:
        this.screens.apply(event); // read.updated, preferences.updated
    }
  }

  private async catchUpEverything(): Promise<void> {
    // The personal stream first: it says what was added or removed.
    for (;;) {
      const { data } = await this.api.POST("/chat/events/list", {
        body: { after: this.personalEventSeq },
      });
      if (!data) throw new Error("list-personal-events failed");
      if (data.reset) {
        // Away longer than events are kept: start over.
        this.positions.clear();
        for (const [id, seq] of await this.screens.reloadSidebar()) this.track(id, seq);
        this.personalEventSeq = data.page.lastEventSeq;
        this.syncCursor = undefined;
        await this.sync(); // only for the next cursor
        return;
      }
      for (const event of data.data) {
        if ("eventSeq" in event) this.personalEventSeq = event.eventSeq;
        await this.applyPersonal(event);
      }
      if (!data.page.hasMore) break;
    }
    for (const entry of await this.sync()) {
      if (entry.removed) {
        this.positions.delete(entry.conversationId);
        this.screens.forgetConversation(entry.conversationId);
      } else if (!this.positions.has(entry.conversationId)) {
        this.track(entry.conversationId, await this.screens.reloadConversation(entry.conversationId));
      } else if (entry.lastEventSeq !== this.positions.get(entry.conversationId)) {
        await this.catchUpConversation(entry.conversationId);
      }
    }
  }

  /** Every conversation that changed since the last sync, each once. */
  private async sync() {
    const changed = [];
    for (;;) {
      const { data } = await this.api.POST("/chat/sync", {
        body: this.syncCursor === undefined ? {} : { cursor: this.syncCursor },
      });
      if (!data) throw new Error("sync failed");
      this.syncCursor = data.page.nextCursor;
      changed.push(...data.data);
      if (!data.page.hasMore) return changed;
    }
  }

  private async catchUpConversation(conversationId: string): Promise<void> {
    for (;;) {
      const after = this.positions.get(conversationId) ?? 0;
      const { data } = await this.api.POST("/chat/conversations/{id}/events/list", {
        params: { path: { id: conversationId } },
        body: { after },
      });
      if (!data) throw new Error("list-conversation-events failed");
      if (data.reset) {
        this.track(conversationId, await this.screens.reloadConversation(conversationId));
        return;
      }
      for (const event of data.data) this.screens.apply(event);
      // Where the reader now is (events it may not see are skipped over).
      this.track(conversationId, data.page.lastEventSeq);
      if (!data.page.hasMore) return;
    }
  }
}

/** Connects to Centrifugo; `personal:<you>` comes with the connection. */
export function connect(url: string, api: Api, catchUp: CatchUp): Centrifuge {
  const centrifuge = new Centrifuge(url, {
    getToken: async () => {
      const { data } = await api.POST("/realtime/connection-token", { body: {} });
      if (!data) throw new Error("no connection token");
      return data.token;
    },
  });
  centrifuge.on("publication", (ctx) => catchUp.onPersonalEvent(ctx.data as RealtimeEvent));
  centrifuge.on("subscribed", (ctx) => {
    // Recovered: Centrifugo replays what was missed, in order. Not
    // recovered (away longer than its history): ask the service.
    if (ctx.wasRecovering && !ctx.recovered) catchUp.catchUp();
  });
  centrifuge.connect();
  return centrifuge;
}

/** Subscribes to one conversation's channel. */
export function subscribe(
  centrifuge: Centrifuge,
  api: Api,
  catchUp: CatchUp,
  conversationId: string,
): Subscription {
  const subscription = centrifuge.newSubscription(`chat:${conversationId}`, {
    getToken: async () => {
      const { data } = await api.POST("/chat/subscribe-token", { body: { conversationId } });
      if (!data) throw new Error("no subscription token");
      return data.token;
    },
  });
  subscription.on("publication", (ctx) => catchUp.onConversationEvent(ctx.data as RealtimeEvent));
  subscription.on("subscribed", (ctx) => {
    if (ctx.wasRecovering && !ctx.recovered) catchUp.catchUp();
  });
  subscription.subscribe();
  return subscription;
}

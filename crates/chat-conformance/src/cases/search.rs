//! Cases for message search (issue 4).

use chat_domain::MessageId;
use chat_domain::conversation::HistoryMode;
use chat_domain::search::{MATCH_END, MATCH_START, SearchOrder};
use chat_domain::service::{SearchMessages, SearchPage};
use chat_domain::user::Caller;

use super::membership::{is_invalid, is_not_found};
use super::{dm_with, group_of, org_channel, send, start, text};
use crate::Harness;

fn query(text: &str) -> SearchMessages {
    SearchMessages {
        query: text.to_owned(),
        conversation_id: None,
        sender_id: None,
        from: None,
        to: None,
        order: SearchOrder::Newest,
        after: None,
        limit: None,
    }
}

fn found(page: &SearchPage) -> Vec<&str> {
    page.hits
        .iter()
        .map(|h| h.message.message.content.as_str())
        .collect()
}

async fn search(h: &Harness, who: Caller, request: SearchMessages) -> SearchPage {
    h.service.search_messages(who, request).await.unwrap()
}

pub async fn search_matches_words_phrases_and_prefixes(h: Harness) {
    let ann = h.user(1, 10).await;
    let dm = start(&h, ann, dm_with(ann)).await;
    for content in [
        "The release notes are ready",
        "notes about the release",
        "Deploying on Friday",
        "deployment done",
        "unrelated chatter",
    ] {
        send(&h, ann, dm, content).await;
    }
    assert_eq!(
        found(&search(&h, ann, query("release notes")).await),
        vec!["notes about the release", "The release notes are ready"]
    );
    assert_eq!(
        found(&search(&h, ann, query(r#""release notes""#)).await),
        vec!["The release notes are ready"]
    );
    assert_eq!(
        found(&search(&h, ann, query("deploy")).await),
        vec!["deployment done", "Deploying on Friday"]
    );
    assert!(
        found(&search(&h, ann, query("deploy ")).await).is_empty(),
        "a finished word is not a prefix"
    );
    assert_eq!(
        found(&search(&h, ann, query("FRIDAY")).await),
        vec!["Deploying on Friday"],
        "case-insensitive"
    );
    assert!(
        found(&search(&h, ann, query("release friday")).await).is_empty(),
        "every word must match"
    );
    let hit = &search(&h, ann, query(r#""release notes" rea"#)).await.hits[0];
    let expected = format!(
        "The {MATCH_START}release{MATCH_END} {MATCH_START}notes{MATCH_END} are {MATCH_START}ready{MATCH_END}"
    );
    assert_eq!(hit.snippet, expected);
    assert!(is_invalid(
        &h.service.search_messages(ann, query(" \"\" ")).await,
        "query"
    ));
}

pub async fn search_sees_only_what_the_caller_may_read(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let eve = h.user(3, 10).await;
    let ours = start(&h, ann, dm_with(bob)).await;
    let theirs = start(&h, eve, dm_with(eve)).await;
    send(&h, ann, ours, "needle in our chat").await;
    send(&h, eve, theirs, "needle in eve's notes").await;
    let doomed = send(&h, ann, ours, "needle to delete").await.message.id;
    h.service.delete_message(ann, doomed).await.unwrap();
    // Another org, with a sinceJoin channel carl joins late.
    let dana = h.user(5, 20).await;
    let channel = start(&h, dana, org_channel("news", HistoryMode::SinceJoin)).await;
    send(&h, dana, channel, "needle before carl").await;
    let carl = h.user(4, 20).await;
    send(&h, dana, channel, "needle after carl").await;

    assert_eq!(
        found(&search(&h, bob, query("needle")).await),
        vec!["needle in our chat"]
    );
    assert_eq!(
        found(&search(&h, carl, query("needle")).await),
        vec!["needle after carl"]
    );
    assert_eq!(
        found(&search(&h, eve, query("needle")).await),
        vec!["needle in eve's notes"]
    );
    let mut elsewhere = query("needle");
    elsewhere.conversation_id = Some(theirs);
    assert!(is_not_found(
        &h.service.search_messages(ann, elsewhere).await
    ));
    let mut only_ours = query("needle");
    only_ours.conversation_id = Some(ours);
    assert_eq!(
        found(&search(&h, ann, only_ours).await),
        vec!["needle in our chat"]
    );
}

pub async fn search_filters_by_sender_and_time(h: Harness) {
    let ann = h.user(1, 10).await;
    let bob = h.user(2, 10).await;
    let group = start(&h, ann, group_of(&[bob])).await;
    let first = send(&h, ann, group, "standup at nine").await.message;
    let second = send(&h, bob, group, "standup moved").await.message;
    let third = send(&h, ann, group, "standup cancelled").await.message;
    let mut from_bob = query("standup");
    from_bob.sender_id = Some(bob.user_id);
    assert_eq!(
        found(&search(&h, ann, from_bob).await),
        vec!["standup moved"]
    );
    let mut window = query("standup");
    window.from = Some(second.created_at);
    window.to = Some(third.created_at);
    assert_eq!(
        found(&search(&h, ann, window).await),
        vec!["standup cancelled", "standup moved"],
        "bounds are inclusive"
    );
    let mut before = query("standup");
    before.to = Some(first.created_at);
    assert_eq!(
        found(&search(&h, ann, before).await),
        vec!["standup at nine"]
    );
}

pub async fn search_pages_newest_first_without_duplicates(h: Harness) {
    let ann = h.user(1, 10).await;
    let a = start(&h, ann, dm_with(ann)).await;
    let bob = h.user(2, 10).await;
    let b = start(&h, ann, dm_with(bob)).await;
    let mut sent: Vec<MessageId> = Vec::new();
    for i in 0..7 {
        let conversation = if i % 2 == 0 { a } else { b };
        sent.push(
            h.service
                .send_message(ann, text(conversation, &format!("report {i}")))
                .await
                .unwrap()
                .value
                .message
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut request = query("report");
    request.limit = Some(3);
    loop {
        let page = search(&h, ann, request.clone()).await;
        seen.extend(page.hits.iter().map(|hit| hit.message.message.id));
        match page.next {
            Some(next) => request.after = Some(next),
            None => break,
        }
    }
    sent.reverse();
    assert_eq!(seen, sent, "newest first, each once");
}

/// Beyond English: accents fold both ways, an apostrophe is part of its
/// word, and Chinese or Japanese text is found by the words inside it.
pub async fn search_works_beyond_english(h: Harness) {
    let ann = h.user(1, 10).await;
    let dm = start(&h, ann, dm_with(ann)).await;
    for content in [
        "Meet at the café at noon",
        "the cafe downstairs is closed",
        "I don't know yet",
        "我喜欢编程语言",
        "明日東京へ行きます",
        "Ñandú sighted in São Paulo",
    ] {
        send(&h, ann, dm, content).await;
    }
    let hits = |text: &str| {
        let h = &h;
        let text = text.to_owned();
        async move {
            let page = search(h, ann, query(&text)).await;
            let mut contents: Vec<String> =
                found(&page).into_iter().map(ToOwned::to_owned).collect();
            contents.sort();
            contents
        }
    };
    let both_cafes = vec![
        "Meet at the café at noon".to_owned(),
        "the cafe downstairs is closed".to_owned(),
    ];
    assert_eq!(hits("cafe").await, both_cafes);
    assert_eq!(hits("CAFÉ").await, both_cafes);
    assert_eq!(
        hits("sao paulo nandu").await,
        ["Ñandú sighted in São Paulo"]
    );
    assert_eq!(hits("don't").await, ["I don't know yet"]);
    assert_eq!(hits("dont").await, ["I don't know yet"]);
    assert_eq!(hits("编程").await, ["我喜欢编程语言"]);
    assert_eq!(hits("编程语言").await, ["我喜欢编程语言"]);
    assert_eq!(
        hits("\"语言编程\"").await,
        Vec::<String>::new(),
        "order matters"
    );
    assert_eq!(hits("東京").await, ["明日東京へ行きます"]);

    let page = search(&h, ann, query("编程")).await;
    assert_eq!(
        page.hits[0].snippet,
        format!("我喜欢{MATCH_START}编程{MATCH_END}语言")
    );
    let page = search(&h, ann, query("cafe noon")).await;
    assert_eq!(
        page.hits[0].snippet,
        format!("Meet at the {MATCH_START}café{MATCH_END} at {MATCH_START}noon{MATCH_END}")
    );
}

/// Relevance order: messages that say the query's words more often first,
/// equally relevant ones newest first, paged without repeats.
pub async fn search_orders_by_relevance(h: Harness) {
    let ann = h.user(1, 10).await;
    let dm = start(&h, ann, dm_with(ann)).await;
    for content in [
        "deploy once",
        "deploy deploy twice",
        "nothing here",
        "Deploy again, deploy and DEPLOY",
        "just deploy",
    ] {
        send(&h, ann, dm, content).await;
    }
    let mut request = query("deploy ");
    request.order = SearchOrder::Relevance;
    request.limit = Some(2);
    let first = search(&h, ann, request.clone()).await;
    assert_eq!(
        found(&first),
        vec!["Deploy again, deploy and DEPLOY", "deploy deploy twice"]
    );
    assert_eq!(
        first.hits.iter().map(|h| h.relevance).collect::<Vec<_>>(),
        vec![3, 2]
    );
    request.after = first.next;
    let second = search(&h, ann, request).await;
    assert_eq!(found(&second), vec!["just deploy", "deploy once"]);
    assert_eq!(second.next, None);

    let newest = search(&h, ann, query("deploy ")).await;
    assert_eq!(
        found(&newest),
        vec![
            "just deploy",
            "Deploy again, deploy and DEPLOY",
            "deploy deploy twice",
            "deploy once"
        ]
    );
}
